// nightly/start_batch_run: record that the nightly run of a date has started (MERGE: a rerun reuses the node).
// Parameters: $date (date string YYYY-MM-DD), $started_at (epoch ms).
MERGE (b:BatchRun {date: date($date)})
SET b.status = 'running',
    b.started_at = datetime({epochMillis: $started_at}),
    b.finished_at = null,
    b.error = null
RETURN b.date AS date
