// name: review_queue
// description: Current rings that need a verdict, highest score first, with their size and strongest evidence: what to review next. A ring needs one when no analyst has judged it, or when it was cleared (judged legit) and a later run raised it again because it changed materially.
// param: limit int example=10 default=10 | how many rings to return
// returns: ring_id, type, score, size, first_seen, last_seen, strongest_evidence (the binding entity shared by most of the ring's cards, as TYPE:ID), shared_by (how many cards share it), evidence (count of binding entities)
// note: a ring leaves the queue with a verdict (graphfraud verdict RING_ID --fraud|--legit); a cleared ring comes back when a run writes it again (held-back rings are not written, so a ring written by a run other than the one its legit verdict was given on was raised again)
MATCH (r:FraudRing)
WHERE r.current
WITH r, head(COLLECT { MATCH (v:Verdict)-[:ON]->(r) RETURN v ORDER BY v.at DESC, v.verdict_id DESC LIMIT 1 }) AS v
WHERE v IS NULL OR (v.verdict = 'legit' AND v.run_id <> r.run_id)
WITH r ORDER BY r.score DESC, r.ring_id LIMIT $limit
CALL (r) {
  OPTIONAL MATCH (r)-[b:BOUND_BY]->(e:Entity)
  WITH e, b ORDER BY b.weight DESC, e.entity_type, e.entity_id LIMIT 1
  RETURN CASE WHEN e IS NULL THEN null ELSE e.entity_type + ':' + e.entity_id END AS strongest, b.weight AS shared_by
}
RETURN r.ring_id AS ring_id, r.type AS type, r.score AS score, r.size AS size, r.first_seen AS first_seen,
       r.last_seen AS last_seen, strongest AS strongest_evidence, shared_by,
       COUNT { (r)-[:BOUND_BY]->() } AS evidence
ORDER BY score DESC, ring_id
