// export/time_range: first and last transaction time in the graph, and the transaction count (for the default cut-off).
// Parameters: none.
MATCH (t:Transaction)
RETURN min(t.timestamp) AS first, max(t.timestamp) AS last, count(t) AS n
