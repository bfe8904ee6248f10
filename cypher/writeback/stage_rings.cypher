// writeback/stage_rings: stage a batch of rings of a run as (:RingStage) nodes, moving the run's heartbeat, (invisible to queries on
// :FraudRing) with STAGED_MEMBER and STAGED_BOUND relationships; flip_run makes them current.
// Parameters: $run_id; $rings: list of {ring_id, props: map of ring properties (type, score, size,
// explanation, model_version, stats), first_seen, last_seen (epoch ms)}; $members: list of {ring_id, type
// (entity_type), id, score, role, strongest}; $evidence: list of {ring_id, type (entity_type), id, weight}.
CALL () {
  UNWIND $rings AS ring
  MERGE (s:RingStage {run_id: $run_id, ring_id: ring.ring_id})
  SET s += ring.props,
      s.first_seen = datetime({epochMillis: ring.first_seen}),
      s.last_seen = datetime({epochMillis: ring.last_seen})
}
CALL () {
  UNWIND $members AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id})
  MATCH (n:Entity {entity_type: row.type, entity_id: row.id})
  MERGE (n)-[m:STAGED_MEMBER]->(s)
  SET m.score = row.score, m.role = row.role, m.strongest = row.strongest
}
CALL () {
  UNWIND $evidence AS row
  MATCH (s:RingStage {run_id: $run_id, ring_id: row.ring_id})
  MATCH (x:Entity {entity_type: row.type, entity_id: row.id})
  MERGE (s)-[b:STAGED_BOUND]->(x)
  SET b.kind = row.type, b.weight = row.weight
}
MATCH (run:ScoringRun {run_id: $run_id})
SET run.heartbeat = datetime()
