// export/confirmed_labels: analysts' confirmed labels on cards, merchants, devices and IPs known before $horizon.
// Parameters: $horizon (DateTime, exclusive bound on labelled_at).
MATCH (n)
WHERE (n:Card OR n:Merchant OR n:Device OR n:IP)
  AND n.confirmed_label IS NOT NULL AND n.labelled_at < $horizon
RETURN CASE WHEN n:Card THEN 'card' WHEN n:Merchant THEN 'merchant' WHEN n:Device THEN 'device' ELSE 'ip' END
         AS entity_type,
       coalesce(n.card_id, n.merchant_id, n.device_id, n.ip) AS entity_id,
       n.confirmed_label AS label, n.labelled_at.epochMillis AS labelled_ms
