// spark/transactions: the Spark engine's second write (connector query mode, after spark/entities): CREATEs each
// new transaction with (:Card)-[:MADE]->(t)-[:AT]->(:Merchant) and (t)-[:<rel>]->(entity) for each optional entity,
// the properties of ingest/transaction_links. Only rows whose transaction_id is not in the graph are sent.
// Parameters (columns of each event): transaction_id, ts (epoch ms, UTC), card_id, merchant_id, amount, currency,
//   mcc, country, channel, status, content_hash (int), links (list of [entity_type, entity_id, relationship type]).
MATCH (c:Entity {entity_type: 'card', entity_id: event.card_id})
MATCH (m:Entity {entity_type: 'merchant', entity_id: event.merchant_id})
CREATE (c)-[:MADE]->(t:Transaction {transaction_id: event.transaction_id, timestamp: datetime({epochMillis: event.ts}),
        amount: event.amount, currency: event.currency, mcc: event.mcc, country: event.country,
        channel: event.channel, status: event.status, content_hash: event.content_hash})-[:AT]->(m)
WITH event, t
UNWIND event.links AS link
MATCH (e:Entity {entity_type: link[0], entity_id: link[1]})
CREATE (t)-[:$(link[2])]->(e)
