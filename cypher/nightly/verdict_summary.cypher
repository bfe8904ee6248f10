// nightly/verdict_summary: the analysts' side of the night, for the report: how many current rings have a verdict,
// the share of judged rings whose latest verdict is fraud (the precision of flagged rings), and the median time from
// a ring's first raising (the earliest scoring run that found it) to its first verdict.
// Parameters: none.
// Returns one row: current, reviewed, unreviewed (current rings with a verdict / in the review_queue: never judged,
// or cleared and raised again since), judged (rings with a verdict, current or not), judged_fraud, precision
// (judged_fraud / judged, null when none), median_hours_to_verdict.
CALL () {
  MATCH (r:FraudRing)
  WHERE r.current
  WITH r, head(COLLECT { MATCH (v:Verdict)-[:ON]->(r) RETURN v ORDER BY v.at DESC, v.verdict_id DESC LIMIT 1 }) AS v
  RETURN count(r) AS current,
         count(CASE WHEN v IS NOT NULL AND NOT (v.verdict = 'legit' AND v.run_id <> r.run_id) THEN 1 END) AS reviewed
}
CALL () {
  MATCH (v:Verdict)-[:ON]->(r:FraudRing)
  WITH r, v ORDER BY v.at DESC, v.verdict_id DESC
  WITH r, head(collect(v)) AS v
  RETURN count(r) AS judged, count(CASE WHEN v.verdict = 'fraud' THEN 1 END) AS judged_fraud
}
CALL () {
  MATCH (v:Verdict)-[:ON]->(r:FraudRing)
  WITH r, min(v.at) AS first_verdict
  MATCH (s:ScoringRun)-[:FOUND]->(r)
  WITH r, first_verdict, min(s.finished_at) AS raised
  WHERE raised <= first_verdict
  RETURN percentileCont(duration.inSeconds(raised, first_verdict).seconds / 3600.0, 0.5) AS median_hours
}
RETURN current, reviewed, current - reviewed AS unreviewed, judged, judged_fraud,
       CASE WHEN judged > 0 THEN toFloat(judged_fraud) / judged END AS precision,
       median_hours AS median_hours_to_verdict
