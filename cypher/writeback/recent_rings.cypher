// writeback/recent_rings: rings that are no longer current but that one of the last $runs finished scoring runs
// found, with their member keys: a ring missing for a night or two and found again takes its old id back
// (rings.assign_ids), so its verdicts and history follow it instead of it being raised as new.
// Parameters: $runs (int, how many of the latest finished runs to look back over).
MATCH (run:ScoringRun {status: 'done'})
WITH run ORDER BY run.finished_at DESC LIMIT $runs
MATCH (run)-[:FOUND]->(r:FraudRing)
WHERE NOT r.current
WITH DISTINCT r
OPTIONAL MATCH (n:Entity)-[:MEMBER_OF]->(r)
WITH r, collect(CASE WHEN n IS NULL THEN null ELSE {entity_type: n.entity_type, entity_id: n.entity_id} END) AS members
RETURN r.ring_id AS ring_id, members
ORDER BY ring_id
