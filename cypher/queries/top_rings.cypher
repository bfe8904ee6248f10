// name: top_rings
// description: Current fraud rings ranked by score, with type, size, first/last seen and how many shared entities bind them.
// param: limit int example=10 default=10 | how many rings to return (highest score first)
// returns: ring_id, type, score, size, first_seen, last_seen, run_id, evidence (count of BOUND_BY entities), explanation
MATCH (r:FraudRing)
WHERE r.current
WITH r ORDER BY r.score DESC, r.ring_id LIMIT $limit
RETURN r.ring_id AS ring_id, r.type AS type, r.score AS score, r.size AS size,
       r.first_seen AS first_seen, r.last_seen AS last_seen, r.run_id AS run_id,
       COUNT { (r)-[:BOUND_BY]->() } AS evidence, r.explanation AS explanation
ORDER BY score DESC, ring_id
