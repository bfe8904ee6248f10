// writeback/stage_scores: stage one batch of entity risk scores under a run (staged_* properties, not yet
// visible as risk_score). Parameters: $run_id; $rows: list of {type (entity_type), id, score, band}.
UNWIND $rows AS row
MATCH (n:Entity {entity_type: row.type, entity_id: row.id})
SET n.staged_risk_score = row.score, n.staged_risk_band = row.band, n.staged_run_id = $run_id
