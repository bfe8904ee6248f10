// ingest/chargebacks: record one batch of chargebacks on their transactions (idempotent; the earliest wins).
// Sets Transaction.chargeback_at unless the graph already holds a chargeback at or before this one.
// Parameters: $rows [{transaction_id, ms (reported_at, epoch ms, UTC)}] (transaction_id unique within $rows).
// Returns one row: set (int: chargeback_at written), present (int: an equal or earlier one was there),
//   unknown ([transaction_id]: no such transaction in the graph; nothing written for them).
// Each transaction is write-locked BEFORE its chargeback_at is read (SET/REMOVE of a dummy property), so two loads
// at once cannot both see "no chargeback yet" and both count it as set: the second waits, then reads the first's.
UNWIND $rows AS r
OPTIONAL MATCH (t:Transaction {transaction_id: r.transaction_id})
CALL (t) {
  WITH t WHERE t IS NOT NULL
  SET t._lock = true
  REMOVE t._lock
}
WITH r, t, datetime({epochMillis: r.ms}) AS at
WITH r, t, at, CASE WHEN t IS NULL THEN 'unknown'
                    WHEN t.chargeback_at IS NOT NULL AND t.chargeback_at <= at THEN 'present'
                    ELSE 'set' END AS outcome
CALL (t, at, outcome) {
  WITH t, at, outcome WHERE outcome = 'set'
  SET t.chargeback_at = at
}
RETURN count(CASE WHEN outcome = 'set' THEN 1 END) AS set,
       count(CASE WHEN outcome = 'present' THEN 1 END) AS present,
       collect(CASE WHEN outcome = 'unknown' THEN r.transaction_id END) AS unknown
