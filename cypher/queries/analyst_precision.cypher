// name: analyst_precision
// description: Per week, how many rings analysts reviewed and the share they judged fraud (the precision of flagged rings), by each ring's latest verdict.
// param: since datetime example=2026-01-01T00:00:00Z | count verdicts given from this instant on
// returns: week (the Monday starting the ISO week of the verdict), reviewed (rings), fraud, legit, precision (fraud / reviewed)
MATCH (v:Verdict)-[:ON]->(r:FraudRing)
WHERE v.at >= datetime($since)
WITH r, v ORDER BY v.at DESC, v.verdict_id DESC
WITH r, head(collect(v)) AS v
WITH date.truncate('week', v.at) AS week, v.verdict AS verdict
WITH week, count(*) AS reviewed, count(CASE WHEN verdict = 'fraud' THEN 1 END) AS fraud
RETURN week, reviewed, fraud, reviewed - fraud AS legit, toFloat(fraud) / reviewed AS precision
ORDER BY week
