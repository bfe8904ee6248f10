// verdicts/label_events: every verdict that bears on an entity's label given before $horizon, so that labels can be
// resolved as of any earlier time too (export.confirmed_as_of: per entity the latest counts, a direct one winning a
// tie; a direct verdict labels the entity fraud or legit; a ring judged fraud labels its members fraud; a ring
// judged legit labels nobody: it withdraws an earlier ring's fraud label, but only a verdict on the entity itself
// makes it a confirmed negative). A ring verdict bears on no member in one of $victim_roles (the shops a
// card-testing ring tested at: victims listed with the ring, not its accomplices); a verdict ON one still does.
// Parameters: $horizon (DateTime, exclusive bound on the verdict's time), $victim_roles (list of MEMBER_OF roles).
// Returns: entity_type, entity_id, label (fraud|legit), direct (true: ON the entity; false: COVERS it as a member of
// a judged ring), labelled_ms (epoch ms of the verdict); in time order, verdicts at the same time in recording order
// (verdict ids sort so), so that the later recorded wins a tie.
MATCH (v:Verdict)-[rel:ON|COVERS]->(n:Entity)
WHERE v.at < $horizon AND NOT (type(rel) = 'COVERS' AND coalesce(rel.role, '') IN $victim_roles)
RETURN n.entity_type AS entity_type, n.entity_id AS entity_id, v.verdict AS label, type(rel) = 'ON' AS direct,
       v.at.epochMillis AS labelled_ms
ORDER BY labelled_ms, v.verdict_id
