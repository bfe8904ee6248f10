// writeback/graph_counts: counts of the scoring results in the graph (idempotence checks, run summaries).
// Parameters: none.
CALL () { MATCH (r:FraudRing) RETURN count(r) AS rings, count(CASE WHEN r.current THEN 1 END) AS current_rings }
CALL () { MATCH ()-[m:MEMBER_OF]->() RETURN count(m) AS member_of }
CALL () { MATCH ()-[b:BOUND_BY]->() RETURN count(b) AS bound_by }
CALL () { MATCH (s:RingStage) RETURN count(s) AS staged_rings }
CALL () { MATCH (n:Entity) WHERE n.risk_score IS NOT NULL RETURN count(n) AS scored_entities }
CALL () { MATCH (n:Entity) WHERE any(k IN keys(n) WHERE k STARTS WITH 'staged_') RETURN count(n) AS staged_entities }
CALL () { MATCH (s:ScoringRun) RETURN count(s) AS runs }
RETURN rings, current_rings, member_of, bound_by, staged_rings, scored_entities, staged_entities, runs
