// name: shortest_path
// description: The shortest path (at most 10 relationships: payments, ring memberships, ring evidence) between two entities of any kind; only current rings are crossed.
// param: from_id string example=c_1c3e2575 | a card_id, merchant_id, device_id or IP address
// param: to_id string example=c_23b7a267 | a card_id, merchant_id, device_id or IP address
// returns: hops (relationships on the path), path (its nodes as "Label:id", transactions included), rings (current rings on the path)
// note: one Card-[:MADE]->Transaction-[:ON_DEVICE]->Device step is 2 hops; no row when no path of <= 10 hops exists.
CALL () {
  MATCH (a:Card {card_id: $from_id}) RETURN a
  UNION
  MATCH (a:Merchant {merchant_id: $from_id}) RETURN a
  UNION
  MATCH (a:Device {device_id: $from_id}) RETURN a
  UNION
  MATCH (a:IP {ip: $from_id}) RETURN a
}
CALL () {
  MATCH (b:Card {card_id: $to_id}) RETURN b
  UNION
  MATCH (b:Merchant {merchant_id: $to_id}) RETURN b
  UNION
  MATCH (b:Device {device_id: $to_id}) RETURN b
  UNION
  MATCH (b:IP {ip: $to_id}) RETURN b
}
MATCH p = shortestPath((a)-[:MADE|AT|ON_DEVICE|FROM_IP|MEMBER_OF|BOUND_BY*..10]-(b))
WHERE a <> b AND all(n IN nodes(p) WHERE NOT n:FraudRing OR n.current)
RETURN length(p) AS hops,
       [n IN nodes(p) | CASE WHEN n:Card THEN 'Card:' + n.card_id WHEN n:Merchant THEN 'Merchant:' + n.merchant_id
                             WHEN n:Device THEN 'Device:' + n.device_id WHEN n:IP THEN 'IP:' + n.ip
                             WHEN n:Transaction THEN 'Transaction:' + n.transaction_id
                             WHEN n:FraudRing THEN 'FraudRing:' + n.ring_id ELSE 'Node' END] AS path,
       [n IN nodes(p) WHERE n:FraudRing AND n.current | n.ring_id] AS rings
