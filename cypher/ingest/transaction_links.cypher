// ingest/transaction_links: second step of ingest/transactions, in the same transaction: CREATEs the new
// transactions with (:Card)-[:MADE]->(t)-[:AT]->(:Merchant) and (t)-[:<rel>]->(entity) for each optional entity.
// Parameters: $new (indices returned by ingest/transactions), the batch's columns $transaction_id, $ts (epoch ms,
//   UTC), $card_id, $merchant_id, $amount, $currency, $mcc, $country, $channel, $status, $content_hash, $links;
//   registry map $rels (entity_type -> relationship type).
UNWIND $new AS i
MATCH (c:Entity {entity_type: 'card', entity_id: $card_id[i]})
MATCH (m:Entity {entity_type: 'merchant', entity_id: $merchant_id[i]})
CREATE (c)-[:MADE]->(t:Transaction {transaction_id: $transaction_id[i], timestamp: datetime({epochMillis: $ts[i]}),
        amount: $amount[i], currency: $currency[i], mcc: $mcc[i], country: $country[i], channel: $channel[i],
        status: $status[i], content_hash: $content_hash[i]})-[:AT]->(m)
WITH i, t
UNWIND $links[i] AS link
MATCH (e:Entity {entity_type: link[0], entity_id: link[1]})
CREATE (t)-[:$($rels[link[0]])]->(e)
