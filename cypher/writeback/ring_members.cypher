// writeback/ring_members: the current rings with their members, roles and binding evidence, best first; used by
// tests and analysts ("why was this ring flagged"). Parameters: $limit (int).
MATCH (r:FraudRing)
WHERE r.current
CALL (r) {
  MATCH (n)-[m:MEMBER_OF]->(r)
  RETURN collect({entity_type: n.entity_type, entity_id: n.entity_id, role: m.role,
                  score: m.score, strongest: m.strongest}) AS members
}
CALL (r) {
  OPTIONAL MATCH (r)-[b:BOUND_BY]->(x)
  RETURN collect(CASE WHEN x IS NULL THEN null ELSE {kind: b.kind, weight: b.weight,
                  entity_type: x.entity_type, entity_id: x.entity_id} END) AS evidence
}
RETURN r.ring_id AS ring_id, r.type AS type, r.score AS score, r.size AS size, r.run_id AS run_id,
       r.explanation AS explanation, members, evidence
ORDER BY score DESC, ring_id
LIMIT $limit
