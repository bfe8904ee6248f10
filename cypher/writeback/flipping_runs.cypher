// writeback/flipping_runs: runs whose rings are current but whose entity scores were not all flipped (a process
// killed during writeback/flip_scores); the next write-back finishes them first. Parameters: none.
MATCH (run:ScoringRun {status: 'flipping'})
RETURN run.run_id AS run_id
ORDER BY run.finished_at, run_id
