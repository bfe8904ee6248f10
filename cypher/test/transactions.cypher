// test/transactions: create hand-made transactions and their entities (:<Label>:Entity, as ingest does), for tests
// only (not the ingest path).
// Parameters: $rows, a list of maps {transaction_id, card, merchant, device (or null), ip (or null),
//   timestamp (DateTime), amount, status, channel, country, chargeback_at (DateTime or null)}.
UNWIND $rows AS row
MERGE (c:Entity {entity_type: 'card', entity_id: row.card}) ON CREATE SET c:Card, c.card_id = row.card
MERGE (m:Entity {entity_type: 'merchant', entity_id: row.merchant}) ON CREATE SET m:Merchant, m.merchant_id = row.merchant
CREATE (t:Transaction {transaction_id: row.transaction_id, timestamp: row.timestamp, amount: row.amount,
                       status: row.status, channel: row.channel, country: row.country, currency: 'EUR',
                       chargeback_at: row.chargeback_at})
CREATE (c)-[:MADE]->(t)-[:AT]->(m)
FOREACH (d IN CASE WHEN row.device IS NULL THEN [] ELSE [row.device] END |
  MERGE (dv:Entity {entity_type: 'device', entity_id: d}) ON CREATE SET dv:Device, dv.device_id = d
  CREATE (t)-[:ON_DEVICE]->(dv))
FOREACH (i IN CASE WHEN row.ip IS NULL THEN [] ELSE [row.ip] END |
  MERGE (ipn:Entity {entity_type: 'ip', entity_id: i}) ON CREATE SET ipn:IP, ipn.ip = i
  CREATE (t)-[:FROM_IP]->(ipn))
