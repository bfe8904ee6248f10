// writeback/current_rings: the current rings (r.current) with their member keys, so a new run can reuse ring ids
// of rings it overlaps with (Jaccard >= 0.5). Parameters: none.
MATCH (r:FraudRing)
WHERE r.current
OPTIONAL MATCH (n:Entity)-[:MEMBER_OF]->(r)
WITH r, collect(CASE WHEN n IS NULL THEN null ELSE {entity_type: n.entity_type, entity_id: n.entity_id} END) AS members
RETURN r.ring_id AS ring_id, members
ORDER BY ring_id
