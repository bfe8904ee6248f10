// name: card_neighbourhood
// description: A card's two-hop neighbourhood: hop 1 the merchants, devices and IPs it paid with; hop 2 the other cards reached through those devices and IPs.
// param: card_id string example=c_1c3e2575 | the card at the centre (Card.card_id)
// param: limit int example=50 default=50 | at most this many hop-2 cards per device or IP (riskiest first)
// returns: hop (1 or 2), kind, entity_id, via (the hop-1 device/IP a hop-2 card shares; null at hop 1), transactions (with the centre card at hop 1, on the shared entity at hop 2), amount, risk_score, risk_band, rings (current ring ids)
// note: hop 2 does not expand through merchants (a merchant is shared by thousands of honest cards); see merchant_ring_exposure.
MATCH (c:Card {card_id: $card_id})-[:MADE]->(t:Transaction)-->(x:Entity)
WITH c, x, count(t) AS transactions, sum(t.amount) AS amount
CALL (c, x, transactions, amount) {
  RETURN 1 AS hop, x AS e, null AS via_node, transactions AS n, amount AS amt
  UNION ALL
  WITH c, x WHERE x.entity_type <> 'merchant'
  MATCH (x)<--(t2:Transaction)<-[:MADE]-(o:Card)
  WHERE o <> c
  WITH x, o, count(t2) AS n2, sum(t2.amount) AS amt2
  ORDER BY o.risk_score DESC, o.card_id LIMIT $limit
  RETURN 2 AS hop, o AS e, x AS via_node, n2 AS n, amt2 AS amt
}
RETURN hop,
       [l IN labels(e) WHERE l <> 'Entity'][0] AS kind,
       e.entity_id AS entity_id,
       via_node.entity_id AS via,
       n AS transactions, round(amt, 2) AS amount, e.risk_score AS risk_score, e.risk_band AS risk_band,
       [(e)-[:MEMBER_OF]->(r:FraudRing) WHERE r.current | r.ring_id] AS rings
ORDER BY hop, kind, via, entity_id
