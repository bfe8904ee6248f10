// ingest/transactions: write one batch of validated transactions in one transaction (idempotent).
// Looks up every id first; for the absent ones only, MERGEs their distinct cards, merchants (mcc/country set on
// create, from the batch's first row of that merchant), devices and IPs, then CREATEs the transactions with their
// (:Card)-[:MADE]->, -[:AT]->(:Merchant), -[:ON_DEVICE]->(:Device) and -[:FROM_IP]->(:IP) relationships.
// Ids already in the graph write nothing (not even their entities).
// Parameters: one list per column, all of the batch's length (row i is element i of each; columns, not maps,
//   because they are much cheaper for the server to receive): $transaction_id (unique), $ts (epoch ms, UTC),
//   $card_id, $merchant_id, $device_id (or null), $ip (or null), $amount, $currency, $mcc, $country, $channel,
//   $status, $content_hash (int).
// Returns one row: created (int), present (int: id already there with the same content_hash),
//   conflicts ([transaction_id]: already there with other content).
UNWIND range(0, size($transaction_id) - 1) AS i
OPTIONAL MATCH (old:Transaction {transaction_id: $transaction_id[i]})
WITH collect(CASE WHEN old IS NULL THEN i END) AS new,
     count(CASE WHEN old.content_hash = $content_hash[i] THEN 1 END) AS present,
     collect(CASE WHEN old IS NOT NULL AND coalesce(old.content_hash, 0) <> $content_hash[i]
             THEN $transaction_id[i] END) AS conflicts
CALL (new) { UNWIND new AS i WITH DISTINCT $card_id[i] AS id MERGE (:Card {card_id: id}) }
CALL (new) {
  UNWIND new AS i
  WITH $merchant_id[i] AS id, min(i) AS first
  MERGE (m:Merchant {merchant_id: id}) ON CREATE SET m.mcc = $mcc[first], m.country = $country[first]
}
CALL (new) { UNWIND new AS i WITH DISTINCT $device_id[i] AS id WHERE id IS NOT NULL MERGE (:Device {device_id: id}) }
CALL (new) { UNWIND new AS i WITH DISTINCT $ip[i] AS id WHERE id IS NOT NULL MERGE (:IP {ip: id}) }
CALL (new) {
  UNWIND new AS i
  MATCH (c:Card {card_id: $card_id[i]})
  MATCH (m:Merchant {merchant_id: $merchant_id[i]})
  CREATE (c)-[:MADE]->(t:Transaction {transaction_id: $transaction_id[i], timestamp: datetime({epochMillis: $ts[i]}),
          amount: $amount[i], currency: $currency[i], mcc: $mcc[i], country: $country[i], channel: $channel[i],
          status: $status[i], content_hash: $content_hash[i]})-[:AT]->(m)
  WITH i, t
  OPTIONAL MATCH (d:Device {device_id: $device_id[i]})
  OPTIONAL MATCH (p:IP {ip: $ip[i]})
  FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END | CREATE (t)-[:ON_DEVICE]->(d))
  FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (t)-[:FROM_IP]->(p))
}
RETURN size(new) AS created, present, conflicts
