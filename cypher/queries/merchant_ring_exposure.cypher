// name: merchant_ring_exposure
// description: Merchants most exposed to current rings: the share of their payment volume (amount) made by ring-member cards or through ring-member devices/IPs.
// param: min_transactions int example=1 default=1 | only merchants with at least this many transactions in all
// param: limit int example=20 default=20 | how many merchants to return (highest share first)
// returns: merchant_id, mcc, ring_transactions, transactions, ring_amount, amount, ring_share (ring_amount / amount, 0-1), rings (ids of the current rings involved), merchant_rings (current rings the merchant itself belongs to)
// note: starts from ring members (few), so it touches only merchants where rings paid.
MATCH (r:FraudRing)<-[:MEMBER_OF]-(e)
WHERE r.current AND NOT e:Merchant
MATCH (e)--(t:Transaction)-[:AT]->(m:Merchant)
WITH m, t, collect(DISTINCT r.ring_id) AS tx_rings
WITH m, count(t) AS ring_transactions, sum(t.amount) AS ring_amount,
     reduce(acc = [], l IN collect(tx_rings) | acc + l) AS ring_ids
CALL (m) {
  MATCH (m)<-[:AT]-(t:Transaction)
  RETURN count(t) AS transactions, sum(t.amount) AS amount
}
WITH m, ring_transactions, ring_amount, ring_ids, transactions, amount
WHERE transactions >= $min_transactions
RETURN m.merchant_id AS merchant_id, m.mcc AS mcc, ring_transactions, transactions,
       round(ring_amount, 2) AS ring_amount, round(amount, 2) AS amount,
       round(ring_amount / amount, 4) AS ring_share,
       COLLECT { UNWIND ring_ids AS id RETURN DISTINCT id ORDER BY id } AS rings,
       [(m)-[:MEMBER_OF]->(r:FraudRing) WHERE r.current | r.ring_id] AS merchant_rings
ORDER BY ring_share DESC, ring_amount DESC, merchant_id
LIMIT $limit
