// writeback/ring_members: the current rings with their members, roles and binding evidence, best first; used by
// tests and analysts ("why was this ring flagged"). Parameters: $limit (int).
MATCH (r:FraudRing)
WHERE r.current
CALL (r) {
  MATCH (n)-[m:MEMBER_OF]->(r)
  RETURN collect({entity_id: coalesce(n.card_id, n.merchant_id, n.device_id, n.ip), role: m.role,
                  score: m.score, strongest: m.strongest}) AS members
}
CALL (r) {
  OPTIONAL MATCH (r)-[b:BOUND_BY]->(x)
  RETURN collect(CASE WHEN x IS NULL THEN null ELSE {kind: b.kind, weight: b.weight,
                  entity_id: coalesce(x.merchant_id, x.device_id, x.ip)} END) AS evidence
}
RETURN r.ring_id AS ring_id, r.type AS type, r.score AS score, r.size AS size, r.run_id AS run_id,
       r.explanation AS explanation, members, evidence
ORDER BY score DESC, ring_id
LIMIT $limit
