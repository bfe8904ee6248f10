// verdicts/record: store analysts' verdicts, all in this one transaction. Nothing is deleted or overwritten: a
// verdict on a target that already has one supersedes it by being later (`at`), and both stay.
// (:Verdict {verdict_id, verdict (fraud|legit), note, analyst, at (DateTime), run_id})-[:ON]->(FraudRing or entity);
// a ring verdict also -[:COVERS {role}]-> every member the ring has now (role: its MEMBER_OF role), so the entities
// it judged stay known when a later run changes the ring's members. run_id: the ring's run (ring verdicts), the latest finished scoring run (entities).
// Parameters: $rows [{verdict_id, ring_id (or null), entity_type, entity_id (or null), verdict, note, analyst,
//   at (epoch ms)}] (targets checked by verdicts/resolve first, under the results lock).
// Returns one row: verdicts (int: Verdict nodes created), covered (int: ring members covered).
OPTIONAL MATCH (last:ScoringRun {status: 'done'})
WITH last ORDER BY last.finished_at DESC LIMIT 1
UNWIND $rows AS x
OPTIONAL MATCH (r:FraudRing {ring_id: x.ring_id})
OPTIONAL MATCH (e:Entity {entity_type: x.entity_type, entity_id: x.entity_id})
WITH last, x, coalesce(r, e) AS target, r
WHERE target IS NOT NULL
CREATE (v:Verdict {verdict_id: x.verdict_id, verdict: x.verdict, note: x.note, analyst: x.analyst,
                   at: datetime({epochMillis: x.at}),
                   run_id: CASE WHEN r IS NULL THEN last.run_id ELSE r.run_id END})-[:ON]->(target)
WITH v, r, target
CALL (v, r, target) {  // an entity judged carries its latest verdict, next to its risk score
  WITH v, r, target WHERE r IS NULL AND (target.verdict_at IS NULL OR target.verdict_at <= v.at)
  SET target.verdict = v.verdict, target.verdict_at = v.at
}
CALL (v, r) {  // so does each member of a judged ring, with the ring's id
  OPTIONAL MATCH (m)-[mo:MEMBER_OF]->(r)
  WITH v, r, m, mo WHERE m IS NOT NULL
  CREATE (v)-[:COVERS {role: mo.role}]->(m)
  FOREACH (_ IN CASE WHEN m.ring_verdict_at IS NULL OR m.ring_verdict_at <= v.at THEN [1] ELSE [] END |
    SET m.ring_verdict = v.verdict, m.ring_verdict_at = v.at, m.ring_verdict_ring = r.ring_id)
  RETURN count(m) AS covered
}
RETURN count(v) AS verdicts, sum(covered) AS covered
