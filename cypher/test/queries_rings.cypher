// test/queries_rings: write the scoring runs and fraud rings of tests/test_queries.py (entities must exist).
// Parameters: $runs [{run_id, model_version, started_at, finished_at (ISO 8601), status}],
//   $rings [{ring_id, type, score, size, first_seen, last_seen (ISO 8601), run_id, current (bool), explanation,
//   members [{kind (card|merchant|device|ip), id, role, score}], evidence [{kind (device|ip|merchant), id, weight}]}],
//   $found [{run_id, ring_id, size, score}] (what each run found: (:ScoringRun)-[:FOUND {size, score}]->(:FraudRing)),
//   $verdicts [{verdict_id, ring_id, verdict, at (ISO 8601), analyst, note}] (ring verdicts, as cypher/verdicts/record
//   writes them: ON the ring, COVERS {role} its members, run_id the ring's).
CALL {
  UNWIND $runs AS s
  CREATE (:ScoringRun {run_id: s.run_id, model_version: s.model_version, started_at: datetime(s.started_at),
          finished_at: datetime(s.finished_at), status: s.status})
}
CALL {
  UNWIND $rings AS g
  CREATE (r:FraudRing {ring_id: g.ring_id, type: g.type, score: g.score, size: g.size,
          first_seen: datetime(g.first_seen), last_seen: datetime(g.last_seen), model_version: 'test-1',
          run_id: g.run_id, current: g.current, explanation: g.explanation})
  WITH r, g
  CALL (r, g) {
    UNWIND g.members AS x
    MATCH (e:Entity {entity_type: x.kind, entity_id: x.id})
    CREATE (e)-[:MEMBER_OF {role: x.role, score: x.score}]->(r)
  }
  CALL (r, g) {
    UNWIND g.evidence AS x
    MATCH (e:Entity {entity_type: x.kind, entity_id: x.id})
    CREATE (r)-[:BOUND_BY {kind: x.kind, weight: x.weight}]->(e)
  }
}
CALL {
  UNWIND $verdicts AS x
  MATCH (r:FraudRing {ring_id: x.ring_id})
  CREATE (v:Verdict {verdict_id: x.verdict_id, verdict: x.verdict, at: datetime(x.at), analyst: x.analyst,
                     note: x.note, run_id: r.run_id})-[:ON]->(r)
  WITH v, r
  MATCH (m)-[mo:MEMBER_OF]->(r)
  CREATE (v)-[:COVERS {role: mo.role}]->(m)
}
UNWIND $found AS f
MATCH (s:ScoringRun {run_id: f.run_id})
MATCH (r:FraudRing {ring_id: f.ring_id})
CREATE (s)-[:FOUND {size: f.size, score: f.score}]->(r)
RETURN count(*) AS found
