// writeback/running_runs: scoring runs not yet flipped ('running'), with who runs them and when they last staged,
// so a new run can tell live runs from abandoned ones (writeback.abandoned_runs). Parameters: none.
MATCH (run:ScoringRun {status: 'running'})
RETURN run.run_id AS run_id, run.host AS host, run.pid AS pid,
       coalesce(run.heartbeat, run.started_at).epochMillis AS heartbeat_ms
ORDER BY run_id
