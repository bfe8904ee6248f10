// test/ingest_entities: every entity (any registry type) with its label and merchant facts, for build-graph tests.
// Parameters: none. Returns kind (entity_type), id, label, labelled_at (ISO string or null), mcc, country
//   (merchants), labels (Neo4j labels, sorted), ordered by kind and id.
MATCH (n:Entity)
RETURN n.entity_type AS kind, n.entity_id AS id, n.confirmed_label AS label, toString(n.labelled_at) AS labelled_at,
       n.mcc AS mcc, n.country AS country, [l IN labels(n) WHERE l <> 'Entity'] AS labels
ORDER BY kind, id
