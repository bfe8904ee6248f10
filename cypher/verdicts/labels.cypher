// verdicts/labels: the entity labels that analysts' verdicts give, as of $horizon. Each entity's latest verdict
// before $horizon counts, among those given on it directly (ON) and those on rings it was a member of when judged
// (COVERS), a direct one winning a tie: a direct verdict labels it fraud or legit; a ring judged fraud labels its
// members fraud; a ring judged legit labels nobody (clearing a ring withdraws an earlier ring's fraud label, but
// only a verdict on the entity itself makes it a confirmed negative). Read by export.read_confirmed.
// Parameters: $horizon (DateTime, exclusive bound on the verdict's time).
// Returns: entity_type, entity_id, label (fraud|legit), labelled_ms (epoch ms of the verdict).
MATCH (v:Verdict)-[rel:ON|COVERS]->(n:Entity)
WHERE v.at < $horizon
WITH n, v, type(rel) = 'ON' AS direct
ORDER BY v.at DESC, direct DESC
WITH n, head(collect({v: v, direct: direct})) AS latest
WHERE latest.direct OR latest.v.verdict = 'fraud'
RETURN n.entity_type AS entity_type, n.entity_id AS entity_id, latest.v.verdict AS label,
       latest.v.at.epochMillis AS labelled_ms
