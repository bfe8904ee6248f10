// writeback/clean_staging: remove what runs that never reached their flip left behind (a crash mid-run):
// RingStage nodes and their staged relationships, staged_* properties on entities; their ScoringRun
// nodes still 'running' become 'abandoned'. Current results are untouched. Parameters: none.
CALL () {
  MATCH (s:RingStage)
  DETACH DELETE s
}
CALL () {
  MATCH (n:Entity)
  WHERE n.staged_run_id IS NOT NULL
  REMOVE n.staged_run_id, n.staged_risk_score, n.staged_risk_band
}
CALL () {
  MATCH (run:ScoringRun {status: 'running'})
  SET run.status = 'abandoned'
}
