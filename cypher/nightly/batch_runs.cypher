// nightly/batch_runs: every nightly run record, newest first (for `graphfraud runs` and tests).
// Parameters: $limit (int).
MATCH (b:BatchRun)
RETURN toString(b.date) AS date, b.status AS status, toString(b.started_at) AS started_at,
       toString(b.finished_at) AS finished_at, b.model_version AS model_version, b.counts AS counts,
       b.stage_seconds AS stage_seconds, b.report AS report, b.error AS error
ORDER BY b.date DESC
LIMIT $limit
