// export/transactions: one row per transaction made before the cut-off, with the entities it joins.
// Feeds the GNN export (graphfraud/export.py), which aggregates the rows per entity and entity pair with polars.
// Carries no chargeback information (labels come from export/chargebacks, so features cannot leak labels).
// Parameters: $cutoff (DateTime, exclusive: only transactions with timestamp < $cutoff).
MATCH (t:Transaction)
WHERE t.timestamp < $cutoff
MATCH (c:Card)-[:MADE]->(t)-[:AT]->(m:Merchant)
OPTIONAL MATCH (t)-[:ON_DEVICE]->(d:Device)
OPTIONAL MATCH (t)-[:FROM_IP]->(i:IP)
RETURN c.card_id AS card, m.merchant_id AS merchant, d.device_id AS device, i.ip AS ip,
       t.timestamp.epochMillis AS ts, t.amount AS amount, t.status = 'declined' AS declined,
       t.channel = 'ecom' AS ecom, t.country AS country
