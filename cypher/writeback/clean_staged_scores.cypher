// writeback/clean_staged_scores: remove abandoned runs' staged score properties from entities, and the single
// staged_* properties of graphs written before run-scoped staging, in batches of their own transactions (one
// transaction over the 1.3M entities of a 10M-payment graph overflowed Neo4j's transaction memory). Run in an
// auto-commit transaction (CALL { ... } IN TRANSACTIONS requires it), before writeback/clean_staging.
// Parameters: $keys (the abandoned runs' staged property keys, writeback.staging_keys), $batch (rows per transaction).
MATCH (n:Entity)
WHERE n.staged_run_id IS NOT NULL OR any(k IN $keys WHERE n[k] IS NOT NULL)
CALL (n) {
  REMOVE n.staged_run_id, n.staged_risk_score, n.staged_risk_band
  WITH n
  CALL (n) {
    UNWIND $keys AS k
    REMOVE n[k]
  }
} IN TRANSACTIONS OF $batch ROWS
