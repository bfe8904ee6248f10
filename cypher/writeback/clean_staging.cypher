// writeback/clean_staging: remove what abandoned runs left behind (a run killed before its flip): their RingStage
// nodes and staged relationships, their staged score properties on entities; their ScoringRun nodes become
// 'abandoned'. Staging of runs still alive is untouched, and so are current results. Which runs are abandoned is
// judged by the caller (writeback.abandoned_runs: dead pid on this host, or a heartbeat older than the lease).
// RingStage nodes of no running run, and the single staged_* properties of graphs written before run-scoped
// staging, are removed too. Parameters: $runs (list of run ids), $keys (their staged property keys).
CALL () {
  MATCH (s:RingStage)
  WHERE s.run_id IN $runs OR NOT EXISTS { MATCH (:ScoringRun {run_id: s.run_id, status: 'running'}) }
  DETACH DELETE s
}
CALL () {
  MATCH (n:Entity)
  WHERE n.staged_run_id IS NOT NULL OR any(k IN $keys WHERE n[k] IS NOT NULL)
  REMOVE n.staged_run_id, n.staged_risk_score, n.staged_risk_band
  WITH n
  CALL (n) {
    UNWIND $keys AS k
    REMOVE n[k]
  }
}
CALL () {
  MATCH (run:ScoringRun {status: 'running'})
  WHERE run.run_id IN $runs
  SET run.status = 'abandoned'
}
