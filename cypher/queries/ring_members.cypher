// name: ring_members
// description: A ring's members (cards, devices, IPs, merchants) with their roles and scores, then the devices/IPs/merchants that bind it.
// param: ring_id string example=R-farm | the ring's id (FraudRing.ring_id)
// returns: relation (member | bound_by), kind (the entity's label: Card, Merchant, Device, IP, Email ...), entity_id, role (MEMBER_OF.role, or BOUND_BY.kind), weight (MEMBER_OF.score, or BOUND_BY.weight), risk_score, risk_band
MATCH (r:FraudRing {ring_id: $ring_id})
CALL (r) {
  MATCH (e)-[m:MEMBER_OF]->(r)
  RETURN 'member' AS relation, e, m.role AS role, m.score AS weight
  UNION ALL
  MATCH (r)-[b:BOUND_BY]->(e)
  RETURN 'bound_by' AS relation, e, b.kind AS role, b.weight AS weight
}
RETURN relation,
       [l IN labels(e) WHERE l <> 'Entity'][0] AS kind,
       e.entity_id AS entity_id,
       role, weight, e.risk_score AS risk_score, e.risk_band AS risk_band
ORDER BY relation DESC, kind, weight DESC, entity_id
