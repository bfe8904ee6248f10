// name: shortest_path
// description: The shortest path (at most 10 relationships: payments, ring memberships, ring evidence) between two entities of any kind; only current rings are crossed.
// param: from_id string example=c_1c3e2575 | the id of an entity of any kind (card, merchant, device, IP, e-mail ...)
// param: to_id string example=c_23b7a267 | the id of an entity of any kind (card, merchant, device, IP, e-mail ...)
// returns: hops (relationships on the path), path (its nodes as "Label:id", transactions included), rings (current rings on the path)
// note: one Card-[:MADE]->Transaction-[:ON_DEVICE]->Device step is 2 hops; no row when no path of <= 10 hops exists.
// note: analysts' verdicts (ON, COVERS) are history, not links: a path never runs through them.
MATCH (a:Entity {entity_id: $from_id})
MATCH (b:Entity {entity_id: $to_id})
MATCH p = shortestPath((a)-[*..10]-(b))
WHERE a <> b AND all(n IN nodes(p) WHERE NOT n:FraudRing OR n.current)
  AND all(r IN relationships(p) WHERE NOT type(r) IN ['FOUND', 'STAGED_MEMBER', 'STAGED_BOUND', 'ON', 'COVERS'])
RETURN length(p) AS hops,
       [n IN nodes(p) | CASE WHEN n:Entity THEN [l IN labels(n) WHERE l <> 'Entity'][0] + ':' + n.entity_id
                             WHEN n:Transaction THEN 'Transaction:' + n.transaction_id
                             WHEN n:FraudRing THEN 'FraudRing:' + n.ring_id ELSE 'Node' END] AS path,
       [n IN nodes(p) WHERE n:FraudRing AND n.current | n.ring_id] AS rings
