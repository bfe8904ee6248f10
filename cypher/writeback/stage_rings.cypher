// writeback/stage_rings: stage a batch of rings of a run as (:RingStage) nodes (invisible to queries on
// :FraudRing) with STAGED_MEMBER and STAGED_BOUND relationships; flip_run makes them current.
// Parameters: $run_id; $rings: list of {ring_id, props: map of ring properties (type, score, size,
// first_seen/last_seen epoch ms, explanation, model_version, stats)}; $card, $merchant, $device, $ip: member
// lists of {ring_id, id, score, role, strongest}; $evidence_device, $evidence_ip, $evidence_merchant: lists of
// {ring_id, id, weight}.
CALL () {
  UNWIND $rings AS ring
  MERGE (s:RingStage {run_id: $run_id, ring_id: ring.ring_id})
  SET s += ring.props,
      s.first_seen = datetime({epochMillis: ring.first_seen}),
      s.last_seen = datetime({epochMillis: ring.last_seen})
}
CALL () {
  UNWIND $card AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (n:Card {card_id: row.id})
  MERGE (n)-[m:STAGED_MEMBER]->(s)
  SET m.score = row.score, m.role = row.role, m.strongest = row.strongest
}
CALL () {
  UNWIND $merchant AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (n:Merchant {merchant_id: row.id})
  MERGE (n)-[m:STAGED_MEMBER]->(s)
  SET m.score = row.score, m.role = row.role, m.strongest = row.strongest
}
CALL () {
  UNWIND $device AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (n:Device {device_id: row.id})
  MERGE (n)-[m:STAGED_MEMBER]->(s)
  SET m.score = row.score, m.role = row.role, m.strongest = row.strongest
}
CALL () {
  UNWIND $ip AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (n:IP {ip: row.id})
  MERGE (n)-[m:STAGED_MEMBER]->(s)
  SET m.score = row.score, m.role = row.role, m.strongest = row.strongest
}
CALL () {
  UNWIND $evidence_device AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (x:Device {device_id: row.id})
  MERGE (s)-[b:STAGED_BOUND]->(x)
  SET b.kind = 'device', b.weight = row.weight
}
CALL () {
  UNWIND $evidence_ip AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (x:IP {ip: row.id})
  MERGE (s)-[b:STAGED_BOUND]->(x)
  SET b.kind = 'ip', b.weight = row.weight
}
CALL () {
  UNWIND $evidence_merchant AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id}), (x:Merchant {merchant_id: row.id})
  MERGE (s)-[b:STAGED_BOUND]->(x)
  SET b.kind = 'merchant', b.weight = row.weight
}
