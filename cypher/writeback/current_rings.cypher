// writeback/current_rings: the current rings (r.current) with their member keys, so a new run can reuse ring ids
// of rings it overlaps with (Jaccard >= 0.5). Parameters: none.
MATCH (r:FraudRing)
WHERE r.current
OPTIONAL MATCH (n)-[:MEMBER_OF]->(r)
WITH r, collect(CASE WHEN n IS NULL THEN null ELSE {
  entity_type: CASE WHEN n:Card THEN 'card' WHEN n:Merchant THEN 'merchant' WHEN n:Device THEN 'device' ELSE 'ip' END,
  entity_id: coalesce(n.card_id, n.merchant_id, n.device_id, n.ip)} END) AS members
RETURN r.ring_id AS ring_id, members
ORDER BY ring_id
