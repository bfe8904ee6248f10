// writeback/stage_scores: stage one batch of entity risk scores under a run, in properties named for the run
// ($score_key, $band_key: not yet visible as risk_score; two runs never share them), and move the run's heartbeat.
// Parameters: $run_id; $score_key, $band_key (writeback.staging_keys); $rows: list of {type (entity_type), id,
// score, band}.
CALL () {
  UNWIND $rows AS row
  MATCH (n:Entity {entity_type: row.type, entity_id: row.id})
  SET n[$score_key] = row.score, n[$band_key] = row.band
}
MATCH (run:ScoringRun {run_id: $run_id})
SET run.heartbeat = datetime()
