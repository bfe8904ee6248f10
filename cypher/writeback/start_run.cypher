// writeback/start_run: record a scoring run as 'running' (MERGE: rerunning the same run_id is idempotent), with the
// host and process that run it and a heartbeat that each staged batch moves forward.
// Parameters: $run_id (string), $model_version (string), $started_at (epoch ms), $cutoff (epoch ms or null),
// $host (string), $pid (int).
MERGE (run:ScoringRun {run_id: $run_id})
SET run.model_version = $model_version,
    run.started_at = datetime({epochMillis: $started_at}),
    run.cutoff = CASE WHEN $cutoff IS NULL THEN null ELSE datetime({epochMillis: $cutoff}) END,
    run.status = 'running',
    run.finished_at = null,
    run.host = $host,
    run.pid = $pid,
    run.heartbeat = datetime()
RETURN run.run_id AS run_id
