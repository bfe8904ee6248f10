// name: cards_sharing_device_or_ip
// description: Other cards that used a device or IP the given card used, most shared entities first.
// param: card_id string example=c_1c3e2575 | the card whose devices and IPs are followed (Card.card_id)
// param: limit int example=25 | how many cards to return
// returns: card_id, shared (the devices/IPs in common, as "Label:id"), shared_count, transactions (the other card's payments on them), risk_score, risk_band, rings (current ring ids)
MATCH (c:Card {card_id: $card_id})-[:MADE]->(:Transaction)-[:ON_DEVICE|FROM_IP]->(x)
WITH DISTINCT c, x
MATCH (x)<-[:ON_DEVICE|FROM_IP]-(t:Transaction)<-[:MADE]-(o:Card)
WHERE o <> c
WITH o, CASE WHEN x:Device THEN 'Device:' + x.device_id ELSE 'IP:' + x.ip END AS via, count(t) AS n
ORDER BY via
WITH o, collect(via) AS shared, sum(n) AS transactions
RETURN o.card_id AS card_id, shared, size(shared) AS shared_count, transactions,
       o.risk_score AS risk_score, o.risk_band AS risk_band,
       [(o)-[:MEMBER_OF]->(r:FraudRing) WHERE r.current | r.ring_id] AS rings
ORDER BY shared_count DESC, transactions DESC, card_id
LIMIT $limit
