// test/queries_world: write the hand-made scored world of tests/test_queries.py: entities with risk scores, then payments.
// Parameters: $entities [{kind (card|merchant|device|ip), id, risk_score, risk_band}], $model_version (string),
//   $scored_at (ISO 8601), $transactions [{id, card, merchant, device (or null), ip (or null), ts (ISO 8601), amount,
//   status (approved|declined), channel (ecom|pos), chargeback_at (ISO 8601 or null)}].
CALL {
  UNWIND $entities AS e
  CALL (e) {
    WITH e WHERE e.kind = 'card' MERGE (n:Card {card_id: e.id}) RETURN n
    UNION
    WITH e WHERE e.kind = 'merchant' MERGE (n:Merchant {merchant_id: e.id}) SET n.mcc = '5999', n.country = 'DE' RETURN n
    UNION
    WITH e WHERE e.kind = 'device' MERGE (n:Device {device_id: e.id}) RETURN n
    UNION
    WITH e WHERE e.kind = 'ip' MERGE (n:IP {ip: e.id}) RETURN n
  }
  SET n.risk_score = e.risk_score, n.risk_band = e.risk_band, n.model_version = $model_version,
      n.scored_at = datetime($scored_at)
}
UNWIND $transactions AS r
MATCH (c:Card {card_id: r.card})
MATCH (m:Merchant {merchant_id: r.merchant})
CREATE (c)-[:MADE]->(t:Transaction {transaction_id: r.id, timestamp: datetime(r.ts), amount: r.amount, currency: 'EUR',
        mcc: m.mcc, country: m.country, channel: r.channel, status: r.status,
        chargeback_at: CASE WHEN r.chargeback_at IS NULL THEN null ELSE datetime(r.chargeback_at) END})-[:AT]->(m)
FOREACH (id IN CASE WHEN r.device IS NULL THEN [] ELSE [r.device] END |
  MERGE (d:Device {device_id: id}) CREATE (t)-[:ON_DEVICE]->(d))
FOREACH (id IN CASE WHEN r.ip IS NULL THEN [] ELSE [r.ip] END |
  MERGE (i:IP {ip: id}) CREATE (t)-[:FROM_IP]->(i))
RETURN count(t) AS transactions
