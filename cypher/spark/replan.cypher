// spark/replan: resample every index and clear the query caches, waiting up to $timeout_s seconds, so the next
// writes are planned on the statistics of what is in the graph now. Run between the entity and the transaction
// writes: a transaction batch looks its card and merchant up by key, and a plan made while the entity index looked
// empty scans every card per row (measured on the UNWIND path: a 133k-row load took over 10 min, not 45 s).
// Parameters: $timeout_s (int).
CALL db.prepareForReplanning($timeout_s)
