// export/transactions: the transactions made in one time window, with the entities they join, as ONE row of parallel
// lists (column-wise: one Bolt record per window, not per payment, which is what makes the export as fast as the
// wire). Feeds the GNN export (graphfraud/export.py), which tiles the time before the cut-off with windows of about
// export.STREAM_CHUNK payments and aggregates the rows per entity and entity pair with polars.
// Carries no chargeback information (labels come from export/chargebacks, so features cannot leak labels).
// Parameters: $from, $to (DateTime: transactions with $from <= timestamp < $to).
// Returns: card, merchant (ids, one per transaction); link_row, link_type, link_id (one per link of a transaction to
//   an optional entity: device, ip, email ... as in graphfraud/registry.py; link_row is the transaction's index in
//   the other lists); ts (epoch ms), amount, declined, ecom, country (one per transaction).
MATCH (t:Transaction)
WHERE $from <= t.timestamp < $to
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
       [r IN rows | r.t.timestamp.epochMillis] AS ts, [r IN rows | r.t.amount] AS amount,
       [r IN rows | r.t.status = 'declined'] AS declined, [r IN rows | r.t.channel = 'ecom'] AS ecom,
       [r IN rows | r.t.country] AS country
