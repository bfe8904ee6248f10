// test/ingest_entities: every card, merchant, device and IP with its label and merchant facts, for build-graph tests.
// Parameters: none. Returns kind (card|merchant|device|ip), id, label, labelled_at (ISO string or null), mcc,
//   country (merchants), ordered by kind and id.
CALL () {
  MATCH (n:Card) RETURN 'card' AS kind, n.card_id AS id, n
  UNION ALL
  MATCH (n:Merchant) RETURN 'merchant' AS kind, n.merchant_id AS id, n
  UNION ALL
  MATCH (n:Device) RETURN 'device' AS kind, n.device_id AS id, n
  UNION ALL
  MATCH (n:IP) RETURN 'ip' AS kind, n.ip AS id, n
}
RETURN kind, id, n.confirmed_label AS label, toString(n.labelled_at) AS labelled_at, n.mcc AS mcc,
       n.country AS country
ORDER BY kind, id
