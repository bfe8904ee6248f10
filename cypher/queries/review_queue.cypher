// name: review_queue
// description: Current rings no analyst has judged yet, highest score first, with their size and strongest evidence: what to review next.
// param: limit int example=10 | how many rings to return
// returns: ring_id, type, score, size, first_seen, last_seen, strongest_evidence (the binding entity shared by most of the ring's cards, as TYPE:ID), shared_by (how many cards share it), evidence (count of binding entities)
// note: a ring leaves the queue with its first verdict (graphfraud verdict RING_ID --fraud|--legit)
MATCH (r:FraudRing)
WHERE r.current AND NOT EXISTS { (:Verdict)-[:ON]->(r) }
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
