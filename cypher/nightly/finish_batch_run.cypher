// nightly/finish_batch_run: close the run record of a date with its outcome.
// Parameters: $date (YYYY-MM-DD), $status ('succeeded' | 'failed'), $finished_at (epoch ms),
// $counts (JSON string: rows loaded, entities scored, rings ...), $model_version (string or null),
// $stage_seconds (JSON string: seconds per stage), $score_hist (list of floats: share of cards per score bin),
// $report (path of the HTML report or null), $error (string or null).
MATCH (b:BatchRun {date: date($date)})
SET b.status = $status,
    b.finished_at = datetime({epochMillis: $finished_at}),
    b.counts = $counts,
    b.model_version = $model_version,
    b.stage_seconds = $stage_seconds,
    b.score_hist = $score_hist,
    b.report = $report,
    b.error = $error
RETURN b.date AS date
