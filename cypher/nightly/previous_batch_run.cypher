// nightly/previous_batch_run: the latest succeeded run before a date (for drift and "previous night").
// Parameters: $date (YYYY-MM-DD).
MATCH (b:BatchRun)
WHERE b.date < date($date) AND b.status = 'succeeded'
RETURN toString(b.date) AS date, b.score_hist AS score_hist, b.model_version AS model_version
ORDER BY b.date DESC
LIMIT 1
