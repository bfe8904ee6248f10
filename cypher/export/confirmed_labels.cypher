// export/confirmed_labels: analysts' confirmed labels on entities of any type known before $horizon.
// Parameters: $horizon (DateTime, exclusive bound on labelled_at).
MATCH (n:Entity)
WHERE n.confirmed_label IS NOT NULL AND n.labelled_at < $horizon
RETURN n.entity_type AS entity_type, n.entity_id AS entity_id,
       n.confirmed_label AS label, n.labelled_at.epochMillis AS labelled_ms
