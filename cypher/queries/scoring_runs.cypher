// name: scoring_runs
// description: The latest scoring runs, newest first, with how many current rings each one wrote.
// param: limit int example=5 default=5 | how many runs to return
// returns: run_id, model_version, status, started_at, finished_at, rings (FraudRing nodes whose run_id is this run)
MATCH (s:ScoringRun)
WITH s ORDER BY s.started_at DESC, s.run_id DESC LIMIT $limit
RETURN s.run_id AS run_id, s.model_version AS model_version, s.status AS status,
       s.started_at AS started_at, s.finished_at AS finished_at,
       COUNT { MATCH (r:FraudRing) WHERE r.run_id = s.run_id } AS rings
ORDER BY started_at DESC, run_id DESC
