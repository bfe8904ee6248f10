// writeback/clean_staging: remove what abandoned runs left behind (a run killed before its flip): their RingStage
// nodes and staged relationships; their ScoringRun nodes become 'abandoned'. Their staged score properties on
// entities are removed before this, in batches (writeback/clean_staged_scores): a kill in between leaves the runs
// 'running', so the next clean-up finds them again. Staging of runs still alive is untouched, and so are current
// results. Which runs are abandoned is judged by the caller (writeback.abandoned_runs: dead pid on this host, or a
// heartbeat older than the lease). RingStage nodes of no running run are removed too. Parameters: $runs (run ids).
CALL () {
  MATCH (s:RingStage)
  WHERE s.run_id IN $runs OR NOT EXISTS { MATCH (:ScoringRun {run_id: s.run_id, status: 'running'}) }
  DETACH DELETE s
}
CALL () {
  MATCH (run:ScoringRun {status: 'running'})
  WHERE run.run_id IN $runs
  SET run.status = 'abandoned'
}
