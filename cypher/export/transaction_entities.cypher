// export/transaction_entities: the card, merchant, device and IP of the given transactions made before the cut-off.
// Used by evaluation to find which planted ring members were active (observable) before the cut-off.
// Parameters: $ids (list of transaction_id), $cutoff (DateTime, exclusive bound on t.timestamp).
UNWIND $ids AS id
MATCH (t:Transaction {transaction_id: id})
WHERE t.timestamp < $cutoff
MATCH (c:Card)-[:MADE]->(t)-[:AT]->(m:Merchant)
OPTIONAL MATCH (t)-[:ON_DEVICE]->(d:Device)
OPTIONAL MATCH (t)-[:FROM_IP]->(i:IP)
RETURN t.transaction_id AS transaction_id, c.card_id AS card, m.merchant_id AS merchant, d.device_id AS device,
       i.ip AS ip
