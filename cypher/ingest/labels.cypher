// ingest/labels: record one batch of confirmed labels on their entities (MERGEd; idempotent; the latest wins).
// Sets confirmed_label and labelled_at unless the entity already holds a label at least as recent.
// Parameters: $rows [{entity_type (a graphfraud/registry.py entity type), entity_id, label (fraud|legit),
//   ms (labelled_at, epoch ms, UTC)}] ((entity_type, entity_id) unique within $rows); registry maps $labels
//   (entity_type -> label) and $keys (entity_type -> key property).
// Returns one row: set (int: label written), present (int: an equal or newer label was there).
// Each entity is write-locked before its label is read (SET/REMOVE of a dummy property): two loads at once cannot
// both count the same label as set.
UNWIND $rows AS r
MERGE (n:Entity {entity_type: r.entity_type, entity_id: r.entity_id})
ON CREATE SET n:$($labels[r.entity_type]), n[$keys[r.entity_type]] = r.entity_id
SET n._lock = true
REMOVE n._lock
WITH r, n, datetime({epochMillis: r.ms}) AS at
WITH r, n, at, (n.labelled_at IS NOT NULL AND n.labelled_at >= at) AS present
CALL (r, n, at, present) {
  WITH r, n, at, present WHERE NOT present
  SET n.confirmed_label = r.label, n.labelled_at = at
}
RETURN count(CASE WHEN NOT present THEN 1 END) AS set, count(CASE WHEN present THEN 1 END) AS present
