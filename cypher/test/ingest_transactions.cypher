// test/ingest_transactions: every transaction with its properties and linked entity ids, for tests of build-graph.
// Parameters: none. Returns one row per transaction, ordered by id: id, ts, amount, currency, mcc, country,
//   channel, status, content_hash, chargeback_at (ISO strings or null), cards, merchants, devices, ips (id lists),
//   links (sorted 'type:id' of every entity the transaction points to, any registry type).
MATCH (t:Transaction)
RETURN t.transaction_id AS id, toString(t.timestamp) AS ts, t.amount AS amount, t.currency AS currency,
       t.mcc AS mcc, t.country AS country, t.channel AS channel, t.status AS status,
       t.content_hash AS content_hash, toString(t.chargeback_at) AS chargeback_at,
       [(c:Card)-[:MADE]->(t) | c.card_id] AS cards, [(t)-[:AT]->(m:Merchant) | m.merchant_id] AS merchants,
       [(t)-[:ON_DEVICE]->(d:Device) | d.device_id] AS devices, [(t)-[:FROM_IP]->(i:IP) | i.ip] AS ips,
       COLLECT { MATCH (t)-->(e:Entity) RETURN e.entity_type + ':' + e.entity_id ORDER BY e.entity_type, e.entity_id } AS links
ORDER BY id
