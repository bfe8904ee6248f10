// name: busy_devices
// description: Devices used by unusually many cards: cards per device, with its z-score against all devices, risk and rings.
// param: min_cards int example=3 default=3 | only devices used by at least this many distinct cards
// param: limit int example=20 default=20 | how many devices to return (most cards first)
// returns: device_id, cards, z_score ((cards - mean) / sample std over all devices with a payment), transactions, sample_cards (up to 10 card ids), risk_score, risk_band, rings (current ring ids)
// note: scans every device once (one pass over ON_DEVICE); on 1M transactions this takes seconds, not minutes.
MATCH (d:Device)<-[:ON_DEVICE]-(t:Transaction)<-[:MADE]-(c:Card)
WITH d, count(DISTINCT c) AS cards, count(t) AS transactions
WITH collect({d: d, cards: cards, transactions: transactions}) AS devices, avg(cards) AS mean, stDev(cards) AS sd
UNWIND devices AS row
WITH row.d AS d, row.cards AS cards, row.transactions AS transactions, mean, sd
WHERE cards >= $min_cards
WITH d, cards, transactions, mean, sd ORDER BY cards DESC, d.device_id LIMIT $limit
RETURN d.device_id AS device_id, cards,
       CASE WHEN sd > 0 THEN round((cards - mean) / sd, 2) END AS z_score, transactions,
       COLLECT { MATCH (d)<-[:ON_DEVICE]-(:Transaction)<-[:MADE]-(c:Card) RETURN DISTINCT c.card_id AS id ORDER BY id LIMIT 10 } AS sample_cards,
       d.risk_score AS risk_score, d.risk_band AS risk_band,
       [(d)-[:MEMBER_OF]->(r:FraudRing) WHERE r.current | r.ring_id] AS rings
ORDER BY cards DESC, device_id
