// ingest/transactions: first step of writing one batch of validated transactions (idempotent); the second step,
// ingest/transaction_links, runs in the SAME transaction with the `new` indices this one returns (two statements,
// because one would need Eager barriers around the dynamic labels and run much slower).
// Looks up every id; for the absent ones only, MERGEs their distinct entities: the card, the merchant (mcc/country
// set on create from the batch's first row of that merchant) and the optional entities of graphfraud/registry.py
// (device, IP, e-mail ...), each as (:<Label>:Entity {<key>, entity_type, entity_id}). Ids already in the graph
// write nothing (not even their entities).
// Parameters: one list per column, all of the batch's length (row i is element i of each; columns, not maps,
//   because they are much cheaper for the server to receive): $transaction_id (unique), $card_id, $merchant_id,
//   $mcc, $country, $content_hash (int), $links (per row a list of [entity_type, entity_id] of its optional
//   entities, possibly empty); registry maps $labels (entity_type -> label) and $keys (entity_type -> key property).
// Returns one row: new ([int]: indices of the rows to create), created (int), present (int: id already there with
//   the same content_hash), conflicts ([transaction_id]: already there with other content); for the second step, the
//   element ids of the entities merged: cards and merchants ([[entity_id, element id]]), linked ([[entity_type,
//   entity_id, element id]]).
UNWIND range(0, size($transaction_id) - 1) AS i
OPTIONAL MATCH (old:Transaction {transaction_id: $transaction_id[i]})
WITH collect(CASE WHEN old IS NULL THEN i END) AS new,
     count(CASE WHEN old.content_hash = $content_hash[i] THEN 1 END) AS present,
     collect(CASE WHEN old IS NOT NULL AND coalesce(old.content_hash, 0) <> $content_hash[i]
             THEN $transaction_id[i] END) AS conflicts
CALL (new) {
  UNWIND new AS i
  WITH DISTINCT $card_id[i] AS id
  MERGE (c:Entity {entity_type: 'card', entity_id: id})
  ON CREATE SET c:Card, c.card_id = id
  RETURN collect([id, elementId(c)]) AS cards
}
CALL (new) {
  UNWIND new AS i
  WITH $merchant_id[i] AS id, min(i) AS first
  MERGE (m:Entity {entity_type: 'merchant', entity_id: id})
  ON CREATE SET m:Merchant, m.merchant_id = id, m.mcc = $mcc[first], m.country = $country[first]
  RETURN collect([id, elementId(m)]) AS merchants
}
CALL (new) {
  UNWIND new AS i
  UNWIND $links[i] AS link
  WITH DISTINCT link[0] AS type, link[1] AS id
  MERGE (e:Entity {entity_type: type, entity_id: id})
  ON CREATE SET e:$($labels[type]), e[$keys[type]] = id
  RETURN collect([type, id, elementId(e)]) AS linked
}
RETURN new, size(new) AS created, present, conflicts, cards, merchants, linked
