// verdicts/cleared_rings: rings whose latest verdict is legit, with the members that verdict covered, so that a
// scoring run does not raise them again unless they changed materially (verdicts.hold_back_cleared).
// Parameters: none.
// Returns: ring_id, cleared_ms (epoch ms of the verdict), members [{entity_type, entity_id}].
MATCH (v:Verdict)-[:ON]->(r:FraudRing)
WITH r, v ORDER BY v.at DESC, v.verdict_id DESC
WITH r, head(collect(v)) AS v
WHERE v.verdict = 'legit'
OPTIONAL MATCH (v)-[:COVERS]->(m:Entity)
WITH r, v, collect(CASE WHEN m IS NULL THEN null ELSE {entity_type: m.entity_type, entity_id: m.entity_id} END) AS members
RETURN r.ring_id AS ring_id, v.at.epochMillis AS cleared_ms, members
ORDER BY ring_id
