// name: ring_members
// description: A ring's members (cards, devices, IPs, merchants) with their roles and scores, then the devices/IPs/merchants that bind it.
// param: ring_id string example=R-farm | the ring's id (FraudRing.ring_id)
// returns: relation (member | bound_by), kind (Card|Merchant|Device|IP), entity_id, role (MEMBER_OF.role, or BOUND_BY.kind), weight (MEMBER_OF.score, or BOUND_BY.weight), risk_score, risk_band
MATCH (r:FraudRing {ring_id: $ring_id})
CALL (r) {
  MATCH (e)-[m:MEMBER_OF]->(r)
  RETURN 'member' AS relation, e, m.role AS role, m.score AS weight
  UNION ALL
  MATCH (r)-[b:BOUND_BY]->(e)
  RETURN 'bound_by' AS relation, e, b.kind AS role, b.weight AS weight
}
RETURN relation,
       CASE WHEN e:Card THEN 'Card' WHEN e:Merchant THEN 'Merchant' WHEN e:Device THEN 'Device' WHEN e:IP THEN 'IP' END AS kind,
       coalesce(e.card_id, e.merchant_id, e.device_id, e.ip) AS entity_id,
       role, weight, e.risk_score AS risk_score, e.risk_band AS risk_band
ORDER BY relation DESC, kind, weight DESC, entity_id
