// writeback/finish_run: a 'flipping' run whose entity scores are all current (writeback/flip_scores) becomes
// 'done'. Parameters: $run_id (string).
MATCH (run:ScoringRun {run_id: $run_id, status: 'flipping'})
SET run.status = 'done'
RETURN run.run_id AS run_id
