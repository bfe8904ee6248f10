// name: unexplained_chargebacks
// description: Chargebacks reported in [since, until) that no current ring explains: neither the card nor any identifier of the payment (device, IP, e-mail ...) is a ring member.
// param: since datetime example=2026-01-01T00:00:00Z | chargebacks reported at or after this instant (ISO 8601)
// param: until datetime example=2026-04-01T00:00:00Z | chargebacks reported before this instant (ISO 8601)
// param: limit int example=100 default=100 | how many to return (riskiest card first, then latest chargeback)
// returns: transaction_id, card_id, merchant_id, identifiers (the payment's devices, IPs, e-mails ... as "Label:id"), amount, timestamp, chargeback_at, card_risk_score, card_risk_band
// note: anchored on the chargeback_at index.
MATCH (t:Transaction)
WHERE t.chargeback_at >= datetime($since) AND t.chargeback_at < datetime($until)
MATCH (c:Card)-[:MADE]->(t)-[:AT]->(m:Merchant)
WITH t, c, m, [(t)-->(x:Entity) WHERE x.entity_type <> 'merchant' | x] AS ids
WHERE NONE(x IN [c] + ids WHERE EXISTS { (x)-[:MEMBER_OF]->(r:FraudRing) WHERE r.current })
RETURN t.transaction_id AS transaction_id, c.card_id AS card_id, m.merchant_id AS merchant_id,
       [x IN ids | [l IN labels(x) WHERE l <> 'Entity'][0] + ':' + x.entity_id] AS identifiers,
       t.amount AS amount, t.timestamp AS timestamp,
       t.chargeback_at AS chargeback_at, c.risk_score AS card_risk_score, c.risk_band AS card_risk_band
ORDER BY card_risk_score DESC, chargeback_at DESC, transaction_id
LIMIT $limit
