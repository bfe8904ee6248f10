// admin/wipe: delete every node, in batches (run admin/wipe_relationships first on large graphs).
// Used by tests and benchmarks through Graph.wipe(). Parameters: none.
MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
