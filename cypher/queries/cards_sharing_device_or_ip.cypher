// name: cards_sharing_device_or_ip
// description: Other cards that used a device or IP the given card used, most shared entities first.
// param: card_id string example=c_1c3e2575 | the card whose devices and IPs are followed (Card.card_id)
// param: limit int example=25 default=25 | how many cards to return
// returns: card_id, shared (the devices/IPs in common, as "Label:id"), shared_count, transactions (the other card's payments on them), risk_score, risk_band, rings (current ring ids)
MATCH (c:Card {card_id: $card_id})-[:MADE]->(:Transaction)-->(x:Entity)
WHERE x.entity_type <> 'merchant'  // devices, IPs, e-mails ...: whatever binds cards (graphfraud/registry.py)
WITH DISTINCT c, x
MATCH (x)<--(t:Transaction)<-[:MADE]-(o:Card)
WHERE o <> c
WITH o, [l IN labels(x) WHERE l <> 'Entity'][0] + ':' + x.entity_id AS via, count(t) AS n
ORDER BY via
WITH o, collect(via) AS shared, sum(n) AS transactions
RETURN o.card_id AS card_id, shared, size(shared) AS shared_count, transactions,
       o.risk_score AS risk_score, o.risk_band AS risk_band,
       [(o)-[:MEMBER_OF]->(r:FraudRing) WHERE r.current | r.ring_id] AS rings
ORDER BY shared_count DESC, transactions DESC, card_id
LIMIT $limit
