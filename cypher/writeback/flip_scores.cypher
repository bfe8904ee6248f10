// writeback/flip_scores: make a 'flipping' run's staged entity scores current, in batches of its own transactions
// (one transaction for the 1.3M entities of a 10M-payment graph overflowed Neo4j's transaction memory: 4.2 GiB at a
// 6 GiB heap). Staged scores become risk_score / risk_band / scored_at / model_version and are removed, so a rerun
// after a kill goes on where it stopped. Run in an auto-commit transaction (CALL { ... } IN TRANSACTIONS requires it).
// Parameters: $run_id (string), $score_key, $band_key (writeback.staging_keys), $batch (rows per transaction).
MATCH (run:ScoringRun {run_id: $run_id, status: 'flipping'})
MATCH (n:Entity)
WHERE n[$score_key] IS NOT NULL
CALL (n, run) {
  SET n.risk_score = n[$score_key], n.risk_band = n[$band_key],
      n.scored_at = run.started_at, n.model_version = run.model_version
  REMOVE n[$score_key], n[$band_key]
} IN TRANSACTIONS OF $batch ROWS
