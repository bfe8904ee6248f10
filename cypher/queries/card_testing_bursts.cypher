// name: card_testing_bursts
// description: Card-testing bursts at a merchant: fixed time buckets in [since, until) where many distinct cards made small payments, with their declines.
// param: merchant_id string example=m_cc71f41e | the merchant (Merchant.merchant_id)
// param: since datetime example=2026-01-02T00:00:00Z | start of the time window (inclusive, ISO 8601)
// param: until datetime example=2026-01-03T00:00:00Z | end of the time window (exclusive, ISO 8601)
// param: bucket_minutes int example=30 default=30 | bucket length in minutes (buckets are aligned on the epoch)
// param: max_amount float example=5.0 default=5.0 | only payments of at most this amount count as tests
// param: min_cards int example=3 default=3 | only buckets with at least this many distinct cards
// returns: bucket_start, attempts, cards, declines, decline_rate, amount, first_at, last_at, sample_cards (up to 20 card ids, in order of first attempt)
MATCH (m:Merchant {merchant_id: $merchant_id})<-[:AT]-(t:Transaction)
WHERE t.timestamp >= datetime($since) AND t.timestamp < datetime($until) AND t.amount <= $max_amount
MATCH (c:Card)-[:MADE]->(t)
WITH t, c, t.timestamp.epochSeconds / ($bucket_minutes * 60) AS bucket
ORDER BY t.timestamp
WITH bucket, count(t) AS attempts, count(DISTINCT c) AS cards,
     count(CASE WHEN t.status = 'declined' THEN 1 END) AS declines, sum(t.amount) AS amount,
     min(t.timestamp) AS first_at, max(t.timestamp) AS last_at, collect(DISTINCT c.card_id)[..20] AS sample_cards
WHERE cards >= $min_cards
RETURN datetime({epochSeconds: bucket * $bucket_minutes * 60}) AS bucket_start, attempts, cards, declines,
       round(toFloat(declines) / attempts, 4) AS decline_rate, round(amount, 2) AS amount, first_at, last_at, sample_cards
ORDER BY bucket_start
