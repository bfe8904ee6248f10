// export/chargebacks: the charged-back transactions made in one time window whose chargeback was reported before
// $horizon, with the entities they join, column-wise as export/transactions. Training passes $horizon = the cut-off
// (only labels known at the cut-off); evaluation passes a later horizon to find fraud that became known after it.
// Parameters: $from, $to (DateTime: transactions with $from <= timestamp < $to; export.py's windows end at the
//   cut-off), $horizon (DateTime, exclusive bound on chargeback_at).
// Returns: card, merchant; link_row, link_type, link_id (as export/transactions); ts, chargeback_ms (epoch ms).
MATCH (t:Transaction)
WHERE $from <= t.timestamp < $to AND t.chargeback_at < $horizon
MATCH (c:Card)-[:MADE]->(t)-[:AT]->(m:Merchant)
WITH collect({card: c.card_id, merchant: m.merchant_id, t: t,
              links: [(t)-->(e:Entity) WHERE e.entity_type <> 'merchant' | [e.entity_type, e.entity_id]]}) AS rows
CALL {
  WITH rows
  UNWIND range(0, size(rows) - 1) AS i
  UNWIND rows[i].links AS link
  RETURN collect(i) AS link_row, collect(link[0]) AS link_type, collect(link[1]) AS link_id
}
RETURN [r IN rows | r.card] AS card, [r IN rows | r.merchant] AS merchant, link_row, link_type, link_id,
       [r IN rows | r.t.timestamp.epochMillis] AS ts, [r IN rows | r.t.chargeback_at.epochMillis] AS chargeback_ms
