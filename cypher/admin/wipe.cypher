// admin/wipe: delete every node and relationship, in batches. Used by tests and `graphfraud reset`.
// Parameters: none.
MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
