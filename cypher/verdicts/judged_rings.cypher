// verdicts/judged_rings: every ring an analyst judged, with its latest verdict and the properties it was last
// written with (its behaviour stats: rings.ring_stats), for the ring triage model (triage.py).
// Parameters: none.
// Returns: ring_id, verdict ('fraud' | 'legit'), props (map of the ring's properties).
MATCH (v:Verdict)-[:ON]->(r:FraudRing)
WITH r, v ORDER BY v.at DESC, v.verdict_id DESC
WITH r, head(collect(v)) AS v
RETURN r.ring_id AS ring_id, v.verdict AS verdict, properties(r) AS props
ORDER BY ring_id
