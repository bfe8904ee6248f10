// admin/migrate_entities: give entity nodes written before the entity registry (:Card, :Merchant, :Device, :IP
// without :Entity) the generic label :Entity and properties entity_type, entity_id, in batches. Idempotent: a graph
// already migrated matches nothing. Run once per registry entity type by Graph.ensure_schema (auto-commit).
// Parameters: $label (the type's Neo4j label, from graphfraud/registry.py), $type (entity_type), $key (its key
// property).
MATCH (n:$($label))
WHERE NOT n:Entity
CALL (n) {
  SET n:Entity, n.entity_type = $type, n.entity_id = n[$key]
} IN TRANSACTIONS OF 20000 ROWS
