// spark/chargebacks: the Spark engine's chargeback write (connector query mode): sets Transaction.chargeback_at to
// the event's time unless the graph holds one at or before it (the earliest wins, as ingest/chargebacks).
// Parameters (columns of each event): transaction_id, ms (reported_at, epoch ms, UTC; the earliest of the load).
MATCH (t:Transaction {transaction_id: event.transaction_id})
WITH t, datetime({epochMillis: event.ms}) AS at
WHERE t.chargeback_at IS NULL OR t.chargeback_at > at
SET t.chargeback_at = at
