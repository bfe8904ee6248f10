// ingest/labels: record one batch of confirmed labels on their entities (MERGEd; idempotent; the latest wins).
// Sets confirmed_label and labelled_at unless the entity already holds a label at least as recent.
// Parameters: $rows [{entity_type (card|merchant|device|ip), entity_id, label (fraud|legit), ms (labelled_at,
//   epoch ms, UTC)}] ((entity_type, entity_id) unique within $rows).
// Returns one row: set (int: label written), present (int: an equal or newer label was there).
UNWIND $rows AS r
CALL (r) {
  WITH r WHERE r.entity_type = 'card' MERGE (n:Card {card_id: r.entity_id}) RETURN n
  UNION
  WITH r WHERE r.entity_type = 'merchant' MERGE (n:Merchant {merchant_id: r.entity_id}) RETURN n
  UNION
  WITH r WHERE r.entity_type = 'device' MERGE (n:Device {device_id: r.entity_id}) RETURN n
  UNION
  WITH r WHERE r.entity_type = 'ip' MERGE (n:IP {ip: r.entity_id}) RETURN n
}
WITH r, n, datetime({epochMillis: r.ms}) AS at
WITH r, n, at, (n.labelled_at IS NOT NULL AND n.labelled_at >= at) AS present
CALL (r, n, at, present) {
  WITH r, n, at, present WHERE NOT present
  SET n.confirmed_label = r.label, n.labelled_at = at
}
RETURN count(CASE WHEN NOT present THEN 1 END) AS set, count(CASE WHEN present THEN 1 END) AS present
