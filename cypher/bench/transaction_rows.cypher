// bench/transaction_rows: one record per transaction made before the cut-off, with the entities it joins: the
// rows export/transactions returns column-wise, streamed the plain way. bench/bench_scale.py times iterating these
// records with the driver as the yardstick of the export's speed (export_over_raw).
// Parameters: $cutoff (DateTime, exclusive: only transactions with timestamp < $cutoff).
// Returns: card, merchant (ids), links (list of [entity_type, entity_id] of the transaction's optional entities),
//   ts (epoch ms), amount, declined, ecom, country.
MATCH (t:Transaction)
WHERE t.timestamp < $cutoff
MATCH (c:Card)-[:MADE]->(t)-[:AT]->(m:Merchant)
RETURN c.card_id AS card, m.merchant_id AS merchant,
       [(t)-->(e:Entity) WHERE e.entity_type <> 'merchant' | [e.entity_type, e.entity_id]] AS links,
       t.timestamp.epochMillis AS ts, t.amount AS amount, t.status = 'declined' AS declined,
       t.channel = 'ecom' AS ecom, t.country AS country
