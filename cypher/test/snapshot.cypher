// test/snapshot: the graph's content that a rerun must leave unchanged — counts, every score, ring, membership,
// evidence link and run record — without timing metadata (started_at, finished_at, stage seconds, load counts
// of the latest attempt). Used by the nightly tests to compare graphs. Parameters: none.
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH (t:Transaction) RETURN count(t) AS transactions, count(t.chargeback_at) AS chargebacks }
CALL () {
  MATCH (n:Entity) WHERE n.risk_score IS NOT NULL
  RETURN collect([n.entity_type, n.entity_id, n.risk_score, n.risk_band,
                  toString(n.scored_at), n.model_version]) AS scores
}
CALL () {
  MATCH (r:FraudRing)
  RETURN collect([r.ring_id, r.type, r.score, r.size, r.current, r.run_id, r.explanation,
                  toString(r.first_seen), toString(r.last_seen)]) AS rings
}
CALL () {
  MATCH (n)-[m:MEMBER_OF]->(r:FraudRing)
  RETURN collect([r.ring_id, n.entity_type + ':' + n.entity_id, m.role, m.score, m.run_id]) AS members
}
CALL () {
  MATCH (r:FraudRing)-[b:BOUND_BY]->(x)
  RETURN collect([r.ring_id, x.entity_type + ':' + x.entity_id, b.kind, b.weight]) AS evidence
}
CALL () { MATCH (s:ScoringRun) RETURN collect([s.run_id, s.status, s.model_version, toString(s.cutoff)]) AS runs }
CALL () { MATCH (s:ScoringRun)-[f:FOUND]->(r) RETURN collect([s.run_id, r.ring_id, f.size, f.score]) AS found }
CALL () { MATCH (b:BatchRun) RETURN collect([toString(b.date), b.status, b.model_version, b.score_hist]) AS batches }
RETURN nodes, relationships, transactions, chargebacks, scores, rings, members, evidence, runs, found, batches
