// bench/load_csv: Neo4j's own loader, the baseline of bench/bench_build_graph.py: one transactions CSV (input
// contract columns) into the graphfraud schema, idempotently (MERGE), committed every $batch rows.
// Parameters: $url (file:///name.csv, in the server's import directory), $batch (rows per transaction).
// Run in an auto-commit transaction (CALL { ... } IN TRANSACTIONS requires it).
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  MERGE (c:Card {card_id: row.card_id})
  MERGE (m:Merchant {merchant_id: row.merchant_id}) ON CREATE SET m.mcc = row.mcc, m.country = row.country
  MERGE (t:Transaction {transaction_id: row.transaction_id})
    ON CREATE SET t.timestamp = datetime(row.timestamp), t.amount = toFloat(row.amount), t.currency = row.currency,
                  t.mcc = row.mcc, t.country = row.country, t.channel = row.channel, t.status = row.status
  MERGE (c)-[:MADE]->(t)
  MERGE (t)-[:AT]->(m)
  FOREACH (id IN CASE WHEN coalesce(row.device_id, '') = '' THEN [] ELSE [row.device_id] END |
    MERGE (d:Device {device_id: id}) MERGE (t)-[:ON_DEVICE]->(d))
  FOREACH (id IN CASE WHEN coalesce(row.ip, '') = '' THEN [] ELSE [row.ip] END |
    MERGE (i:IP {ip: id}) MERGE (t)-[:FROM_IP]->(i))
} IN TRANSACTIONS OF $batch ROWS
