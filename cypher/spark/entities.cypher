// spark/entities: the Spark engine's first write (Neo4j Connector for Apache Spark, query mode: the connector runs
// `UNWIND $events AS event` before this, one batch per transaction). MERGEs each entity the new transactions name,
// as ingest/transactions does: (:<Label>:Entity {<key>, entity_type, entity_id}), a merchant with mcc and country
// from its first new transaction in load order.
// Parameters (columns of each event): entity_type, entity_id, label and key (from graphfraud/registry.py), mcc and
//   country (merchants; null for the others, which sets nothing).
MERGE (e:Entity {entity_type: event.entity_type, entity_id: event.entity_id})
ON CREATE SET e:$(event.label), e[event.key] = event.entity_id, e.mcc = event.mcc, e.country = event.country
