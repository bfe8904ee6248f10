// ingest/transaction_links: second step of ingest/transactions, in the same transaction: CREATEs the new
// transactions with (:Card)-[:MADE]->(t)-[:AT]->(:Merchant) and (t)-[:<rel>]->(entity) for each optional entity.
// Parameters: $new (indices returned by ingest/transactions), the batch's columns $transaction_id, $ts (epoch ms,
//   UTC), $card_id, $merchant_id, $amount, $currency, $mcc, $country, $channel, $status, $content_hash, $links;
//   per row the element ids of its entities, as ingest/transactions merged them: $card_node, $merchant_node,
//   $link_nodes (aligned with $links[i]); registry map $rels (entity_type -> relationship type).
// Entities are found by element id (NodeByElementIdSeek), not by key: a key lookup's plan depends on index
// statistics, and a plan made while the index looked empty (first batches) scanned every card per row.
UNWIND $new AS i
MATCH (c) WHERE elementId(c) = $card_node[i]
MATCH (m) WHERE elementId(m) = $merchant_node[i]
CREATE (c)-[:MADE]->(t:Transaction {transaction_id: $transaction_id[i], timestamp: datetime({epochMillis: $ts[i]}),
        amount: $amount[i], currency: $currency[i], mcc: $mcc[i], country: $country[i], channel: $channel[i],
        status: $status[i], content_hash: $content_hash[i]})-[:AT]->(m)
WITH i, t
UNWIND range(0, size($links[i]) - 1) AS j
MATCH (e) WHERE elementId(e) = $link_nodes[i][j]
CREATE (t)-[:$($rels[$links[i][j][0]])]->(e)
