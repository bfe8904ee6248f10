// spark/existing_transactions: every transaction already in the graph, read by the Spark engine (spark_ingest.py,
// through the Neo4j Connector for Apache Spark) to tell new rows from repeats and conflicts, and to know which
// chargebacks have a transaction and which are earlier than the one recorded.
// Parameters: none. Returns transaction_id, content_hash (int), chargeback_ms (epoch ms of chargeback_at, or null).
MATCH (t:Transaction)
RETURN t.transaction_id AS transaction_id, t.content_hash AS content_hash,
       t.chargeback_at.epochMillis AS chargeback_ms
