// test/queries_world: write the hand-made scored world of tests/test_queries.py: entities with risk scores, then payments.
// Parameters: $entities [{kind (card|merchant|device|ip), id, risk_score, risk_band}], $model_version (string),
//   $scored_at (ISO 8601), $transactions [{id, card, merchant, device (or null), ip (or null), ts (ISO 8601), amount,
//   status (approved|declined), channel (ecom|pos), chargeback_at (ISO 8601 or null)}]; registry maps $labels and
//   $keys (graphfraud.registry.cypher_params).
CALL {
  UNWIND $entities AS e
  MERGE (n:Entity {entity_type: e.kind, entity_id: e.id})
  ON CREATE SET n:$($labels[e.kind]), n[$keys[e.kind]] = e.id
  FOREACH (_ IN CASE WHEN e.kind = 'merchant' THEN [1] ELSE [] END | SET n.mcc = '5999', n.country = 'DE')
  SET n.risk_score = e.risk_score, n.risk_band = e.risk_band, n.model_version = $model_version,
      n.scored_at = datetime($scored_at)
}
UNWIND $transactions AS r
MATCH (c:Entity {entity_type: 'card', entity_id: r.card})
MATCH (m:Entity {entity_type: 'merchant', entity_id: r.merchant})
CREATE (c)-[:MADE]->(t:Transaction {transaction_id: r.id, timestamp: datetime(r.ts), amount: r.amount, currency: 'EUR',
        mcc: m.mcc, country: m.country, channel: r.channel, status: r.status,
        chargeback_at: CASE WHEN r.chargeback_at IS NULL THEN null ELSE datetime(r.chargeback_at) END})-[:AT]->(m)
FOREACH (id IN CASE WHEN r.device IS NULL THEN [] ELSE [r.device] END |
  MERGE (d:Entity {entity_type: 'device', entity_id: id}) ON CREATE SET d:Device, d.device_id = id
  CREATE (t)-[:ON_DEVICE]->(d))
FOREACH (id IN CASE WHEN r.ip IS NULL THEN [] ELSE [r.ip] END |
  MERGE (i:Entity {entity_type: 'ip', entity_id: id}) ON CREATE SET i:IP, i.ip = id
  CREATE (t)-[:FROM_IP]->(i))
RETURN count(t) AS transactions
