// writeback/reset_results: delete every scoring result (FraudRing, RingStage, ScoringRun nodes and their
// relationships; risk_* / scored_at / model_version / staged_* properties on entities, whatever run staged them). The transactions and
// entities stay. Used by tests and to start scoring afresh. Parameters: none.
CALL () {
  MATCH (r:FraudRing|RingStage|ScoringRun)
  DETACH DELETE r
}
CALL () {
  MATCH (n:Entity)
  WHERE n.risk_score IS NOT NULL OR any(k IN keys(n) WHERE k STARTS WITH 'staged_')
  REMOVE n.risk_score, n.risk_band, n.scored_at, n.model_version
  WITH n
  CALL (n) {
    UNWIND [k IN keys(n) WHERE k STARTS WITH 'staged_'] AS k
    REMOVE n[k]
  }
}
