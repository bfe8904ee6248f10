// name: why_flagged
// description: Why an entity (card, merchant, device or IP) is flagged: its risk, its activity, each current ring it belongs to and the ring evidence it touches itself.
// param: entity_id string example=c_1c3e2575 | a card_id, merchant_id, device_id or IP address
// returns: kind, entity_id, risk_score, risk_band, model_version, confirmed_label, transactions, declines, chargebacks, ring_id, ring_type, ring_score, role, member_score, evidence (the ring's BOUND_BY entities this entity is or transacted with, as "kind:Label:id"), explanation (one row per current ring; ring columns null when in none)
// note: the entity is found through the four unique keys, so the lookup is indexed whatever its kind.
MATCH (e:Entity {entity_id: $entity_id})
CALL (e) {
  MATCH (e)--(t:Transaction)
  RETURN count(t) AS transactions, count(CASE WHEN t.status = 'declined' THEN 1 END) AS declines,
         count(t.chargeback_at) AS chargebacks
}
OPTIONAL MATCH (e)-[m:MEMBER_OF]->(r:FraudRing)
  WHERE r.current
WITH e, transactions, declines, chargebacks, m, r,
     COLLECT { MATCH (r)-[b:BOUND_BY]->(x) WHERE x = e OR EXISTS { (e)--(:Transaction)--(x) }
               WITH b.kind + ':' + [l IN labels(x) WHERE l <> 'Entity'][0] + ':' + x.entity_id AS item
               RETURN item ORDER BY item } AS evidence
RETURN [l IN labels(e) WHERE l <> 'Entity'][0] AS kind,
       e.entity_id AS entity_id,
       e.risk_score AS risk_score, e.risk_band AS risk_band, e.model_version AS model_version,
       e.confirmed_label AS confirmed_label, transactions, declines, chargebacks,
       r.ring_id AS ring_id, r.type AS ring_type, r.score AS ring_score, m.role AS role, m.score AS member_score,
       evidence, r.explanation AS explanation
ORDER BY ring_score DESC, ring_id
