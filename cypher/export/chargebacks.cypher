// export/chargebacks: charged-back transactions made before the cut-off whose chargeback was reported before
// $horizon, with the entities they join. Training passes $horizon = $cutoff (only labels known at the cut-off);
// evaluation passes a later horizon to find fraud that became known after the cut-off.
// Parameters: $cutoff (DateTime, exclusive bound on t.timestamp), $horizon (DateTime, exclusive bound on chargeback_at).
// Returns: card, merchant, links (as export/transactions), ts, chargeback_ms (epoch ms).
MATCH (t:Transaction)
WHERE t.chargeback_at < $horizon AND t.timestamp < $cutoff
MATCH (c:Card)-[:MADE]->(t)-[:AT]->(m:Merchant)
RETURN c.card_id AS card, m.merchant_id AS merchant,
       [(t)-->(e:Entity) WHERE e.entity_type <> 'merchant' | [e.entity_type, e.entity_id]] AS links,
       t.timestamp.epochMillis AS ts, t.chargeback_at.epochMillis AS chargeback_ms
