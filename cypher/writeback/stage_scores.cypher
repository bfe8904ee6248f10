// writeback/stage_scores: stage one batch of entity risk scores under a run (staged_* properties, not yet
// visible as risk_score). Parameters: $run_id; $card, $merchant, $device, $ip: lists of {id, score, band}.
CALL () {
  UNWIND $card AS row
  MATCH (n:Card {card_id: row.id})
  SET n.staged_risk_score = row.score, n.staged_risk_band = row.band, n.staged_run_id = $run_id
}
CALL () {
  UNWIND $merchant AS row
  MATCH (n:Merchant {merchant_id: row.id})
  SET n.staged_risk_score = row.score, n.staged_risk_band = row.band, n.staged_run_id = $run_id
}
CALL () {
  UNWIND $device AS row
  MATCH (n:Device {device_id: row.id})
  SET n.staged_risk_score = row.score, n.staged_risk_band = row.band, n.staged_run_id = $run_id
}
CALL () {
  UNWIND $ip AS row
  MATCH (n:IP {ip: row.id})
  SET n.staged_risk_score = row.score, n.staged_risk_band = row.band, n.staged_run_id = $run_id
}
