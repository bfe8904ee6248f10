// admin/wipe_relationships: delete every relationship in batches (first half of a wipe: deleting a popular
// merchant with all its relationships at once can exceed the transaction memory limit). Parameters: none.
MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS
