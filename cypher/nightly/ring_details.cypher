// nightly/ring_details: type, score, size and explanation of the current rings (for the nightly report).
// Parameters: none.
MATCH (r:FraudRing)
WHERE r.current
RETURN r.ring_id AS ring_id, r.type AS type, r.score AS score, r.size AS size, r.explanation AS explanation
ORDER BY r.score DESC
