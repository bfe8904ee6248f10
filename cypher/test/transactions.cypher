// test/transactions: create hand-made transactions and their entities, for tests only (not the ingest path).
// Parameters: $rows, a list of maps {transaction_id, card, merchant, device (or null), ip (or null),
//   timestamp (DateTime), amount, status, channel, country, chargeback_at (DateTime or null)}.
UNWIND $rows AS row
MERGE (c:Card {card_id: row.card})
MERGE (m:Merchant {merchant_id: row.merchant})
CREATE (t:Transaction {transaction_id: row.transaction_id, timestamp: row.timestamp, amount: row.amount,
                       status: row.status, channel: row.channel, country: row.country, currency: 'EUR',
                       chargeback_at: row.chargeback_at})
CREATE (c)-[:MADE]->(t)-[:AT]->(m)
FOREACH (d IN CASE WHEN row.device IS NULL THEN [] ELSE [row.device] END |
  MERGE (dv:Device {device_id: d}) CREATE (t)-[:ON_DEVICE]->(dv))
FOREACH (i IN CASE WHEN row.ip IS NULL THEN [] ELSE [row.ip] END |
  MERGE (ipn:IP {ip: i}) CREATE (t)-[:FROM_IP]->(ipn))
