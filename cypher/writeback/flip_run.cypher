// writeback/flip_run: make a staged run's rings current in ONE transaction. Previous current rings become
// current = false (kept, with their memberships, as history); each staged ring replaces the FraudRing of the same
// ring_id (or creates it) with fresh MEMBER_OF / BOUND_BY relationships and current = true; the ScoringRun becomes
// 'flipping' (its entity scores follow in batches: writeback/flip_scores, then writeback/finish_run) and records
// (:ScoringRun)-[:FOUND {size, score}]->(:FraudRing) for each ring it found.
// Parameters: $run_id (string), $finished_at (epoch ms).
MATCH (run:ScoringRun {run_id: $run_id})
CALL () {
  MATCH (old:FraudRing)
  WHERE old.current
  SET old.current = false
}
CALL (run) {
  MATCH (s:RingStage {run_id: $run_id})
  MERGE (r:FraudRing {ring_id: s.ring_id})
  SET r = properties(s), r.current = true
  // what each run found, so "new or grown since the previous run" can be answered
  MERGE (run)-[f:FOUND]->(r)
  SET f.size = s.size, f.score = s.score
  WITH r, s
  CALL (r) {
    MATCH (r)<-[m:MEMBER_OF]-()
    DELETE m
  }
  CALL (r) {
    MATCH (r)-[b:BOUND_BY]->()
    DELETE b
  }
  CALL (r, s) {
    MATCH (n)-[sm:STAGED_MEMBER]->(s)
    CREATE (n)-[:MEMBER_OF {score: sm.score, role: sm.role, strongest: sm.strongest, run_id: $run_id}]->(r)
  }
  CALL (r, s) {
    MATCH (s)-[sb:STAGED_BOUND]->(x)
    CREATE (r)-[:BOUND_BY {kind: sb.kind, weight: sb.weight}]->(x)
  }
  DETACH DELETE s
}
SET run.status = 'flipping', run.finished_at = datetime({epochMillis: $finished_at})
RETURN run.run_id AS run_id
