// writeback/snapshot: every scoring result as plain rows (ring properties, memberships, evidence, scored
// entities), sorted, so two graphs can be compared for equality (idempotence checks). Parameters: none.
CALL () {
  MATCH (r:FraudRing)
  WITH r ORDER BY r.ring_id
  RETURN collect(properties(r)) AS rings
}
CALL () {
  MATCH (n)-[m:MEMBER_OF]->(r:FraudRing)
  WITH r.ring_id + '|' + n.entity_type + ':' + n.entity_id + '|' + m.role + '|'
       + toString(m.score) + '|' + toString(m.strongest) + '|' + m.run_id AS row
  ORDER BY row
  RETURN collect(row) AS members
}
CALL () {
  MATCH (r:FraudRing)-[b:BOUND_BY]->(x)
  WITH r.ring_id + '|' + b.kind + '|' + x.entity_type + ':' + x.entity_id + '|' + toString(b.weight) AS row
  ORDER BY row
  RETURN collect(row) AS evidence
}
CALL () {
  MATCH (n:Entity)
  WHERE n.risk_score IS NOT NULL
  WITH n.entity_type + ':' + n.entity_id + '|' + toString(n.risk_score) + '|' + n.risk_band
       + '|' + toString(n.scored_at) + '|' + n.model_version AS row
  ORDER BY row
  RETURN collect(row) AS entities
}
RETURN rings, members, evidence, entities
