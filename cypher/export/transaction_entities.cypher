// export/transaction_entities: every entity (card, merchant, device, IP, ...) of the given transactions made before
// the cut-off. Used by evaluation to find which planted ring members were active (observable) before the cut-off.
// Parameters: $ids (list of transaction_id), $cutoff (DateTime, exclusive bound on t.timestamp).
// Returns: transaction_id, entity_type, entity_id (one row per transaction and entity).
UNWIND $ids AS id
MATCH (t:Transaction {transaction_id: id})
WHERE t.timestamp < $cutoff
MATCH (t)--(e:Entity)
RETURN t.transaction_id AS transaction_id, e.entity_type AS entity_type, e.entity_id AS entity_id
