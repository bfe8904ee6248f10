// spark/labels: the Spark engine's label write (connector query mode): MERGEs the entity (as ingest/labels) and sets
// confirmed_label and labelled_at unless it holds a label at least as recent (the latest wins).
// Parameters (columns of each event): entity_type, entity_id, label (fraud|legit), ms (labelled_at, epoch ms, UTC),
//   node_label and key (from graphfraud/registry.py).
MERGE (n:Entity {entity_type: event.entity_type, entity_id: event.entity_id})
ON CREATE SET n:$(event.node_label), n[event.key] = event.entity_id
WITH n, event, datetime({epochMillis: event.ms}) AS at
WHERE n.labelled_at IS NULL OR n.labelled_at < at
SET n.confirmed_label = event.label, n.labelled_at = at
