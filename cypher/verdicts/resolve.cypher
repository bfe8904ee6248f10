// verdicts/resolve: which verdict targets exist: each ring id with whether it is current, each entity with whether
// it is in the graph. Read-only; run before anything is written so that one bad target writes nothing.
// Parameters: $rings [ring_id strings], $entities [{entity_type, entity_id}].
// Returns one row: rings [{ring_id, current (bool)}] (known rings only), entities [{entity_type, entity_id}] (known
// entities only).
CALL () {
  UNWIND $rings AS id
  MATCH (r:FraudRing {ring_id: id})
  RETURN collect({ring_id: id, current: coalesce(r.current, false)}) AS rings
}
CALL () {
  UNWIND $entities AS x
  MATCH (e:Entity {entity_type: x.entity_type, entity_id: x.entity_id})
  RETURN collect({entity_type: x.entity_type, entity_id: x.entity_id}) AS entities
}
RETURN rings, entities
