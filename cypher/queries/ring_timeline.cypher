// name: ring_timeline
// description: A ring's activity per day (UTC): transactions made by its member cards or through its member devices/IPs, their amount, declines and chargebacks.
// param: ring_id string example=R-farm | the ring's id (FraudRing.ring_id)
// returns: day (date), transactions, amount, declines, chargebacks, cards (distinct cards paying that day)
MATCH (r:FraudRing {ring_id: $ring_id})<-[:MEMBER_OF]-(e)
WHERE NOT e:Merchant
MATCH (e)--(t:Transaction)
WITH DISTINCT t
MATCH (c:Card)-[:MADE]->(t)
RETURN date(t.timestamp) AS day, count(t) AS transactions, round(sum(t.amount), 2) AS amount,
       count(CASE WHEN t.status = 'declined' THEN 1 END) AS declines, count(t.chargeback_at) AS chargebacks,
       count(DISTINCT c) AS cards
ORDER BY day
