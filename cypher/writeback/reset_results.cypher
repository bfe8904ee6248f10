// writeback/reset_results: delete every scoring result (FraudRing, RingStage, ScoringRun nodes and their
// relationships; risk_* / scored_at / model_version / staged_* properties on entities). The transactions and
// entities stay. Used by tests and to start scoring afresh. Parameters: none.
CALL () {
  MATCH (r:FraudRing|RingStage|ScoringRun)
  DETACH DELETE r
}
CALL () {
  MATCH (n:Entity)
  WHERE n.risk_score IS NOT NULL OR n.staged_run_id IS NOT NULL
  REMOVE n.risk_score, n.risk_band, n.scored_at, n.model_version, n.staged_run_id, n.staged_risk_score,
         n.staged_risk_band
}
