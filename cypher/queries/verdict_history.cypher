// name: verdict_history
// description: Every verdict on a ring or an entity (for an entity, also those on rings it was judged with), newest first, and whether a later one superseded it.
// param: target string example=R-farm | a ring id (FraudRing.ring_id) or an entity id (card, device, IP ... id)
// returns: verdict_id, at, verdict, analyst, note, run_id, on (the ring id or TYPE:ID judged), via_ring (for an entity: the ring whose verdict covered it, else null), covered (ring members the verdict covered), superseded (a later verdict on the same target exists; of two at the same time, the one recorded later)
MATCH (v:Verdict)-[rel:ON|COVERS]->(t)
WHERE t.ring_id = $target OR t.entity_id = $target
MATCH (v)-[:ON]->(judged)
WITH v, judged, CASE WHEN type(rel) = 'COVERS' THEN judged.ring_id END AS via_ring
RETURN v.verdict_id AS verdict_id, v.at AS at, v.verdict AS verdict, v.analyst AS analyst, v.note AS note,
       v.run_id AS run_id,
       coalesce(judged.ring_id, judged.entity_type + ':' + judged.entity_id) AS on, via_ring,
       COUNT { (v)-[:COVERS]->() } AS covered,
       EXISTS { MATCH (later:Verdict)-[:ON]->(judged)
                WHERE later.at > v.at OR (later.at = v.at AND later.verdict_id > v.verdict_id) } AS superseded
ORDER BY at DESC, verdict_id DESC
