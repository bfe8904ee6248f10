// name: rings_new_or_grown
// description: Current rings that the latest completed scoring run found new, or larger than the run before it did.
// param: limit int example=50 default=50 | how many rings to return (new first, then by growth and score)
// returns: ring_id, type, change (new | grown), size, previous_size (null when new), growth, score, run_id, previous_run_id, explanation
// note: runs are (:ScoringRun {status: 'done'}) ordered by started_at; each run records the rings it found as (:ScoringRun)-[:FOUND {size, score}]->(:FraudRing).
MATCH (cur:ScoringRun {status: 'done'})
WITH cur ORDER BY cur.started_at DESC LIMIT 1
OPTIONAL MATCH (prev:ScoringRun {status: 'done'})
  WHERE prev.started_at < cur.started_at
WITH cur, prev ORDER BY prev.started_at DESC LIMIT 1
MATCH (cur)-[f:FOUND]->(r:FraudRing)
WHERE r.current
OPTIONAL MATCH (prev)-[p:FOUND]->(r)
WITH cur, prev, r, f, p
WHERE p IS NULL OR f.size > p.size
RETURN r.ring_id AS ring_id, r.type AS type, CASE WHEN p IS NULL THEN 'new' ELSE 'grown' END AS change,
       f.size AS size, p.size AS previous_size, f.size - coalesce(p.size, 0) AS growth, f.score AS score,
       cur.run_id AS run_id, prev.run_id AS previous_run_id, r.explanation AS explanation
ORDER BY change DESC, growth DESC, score DESC, ring_id
LIMIT $limit
