// spark/existing_labels: every entity that already holds a confirmed label, read by the Spark engine
// (spark_ingest.py) so that a label loads only when it is newer than the one recorded, as ingest/labels decides.
// Parameters: none. Returns entity_type, entity_id, labelled_ms (epoch ms of labelled_at).
MATCH (n:Entity)
WHERE n.labelled_at IS NOT NULL
RETURN n.entity_type AS entity_type, n.entity_id AS entity_id, n.labelled_at.epochMillis AS labelled_ms
