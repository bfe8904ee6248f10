// test/graph_content: every node (its labels and properties) and every relationship (its type, its endpoints' keys
// and properties) of the graph: for comparing two loads of the same files (the bulk importer against UNWIND).
// Parameters: none.
CALL () { MATCH (n) RETURN collect([labels(n), properties(n)]) AS nodes }
CALL () {
  MATCH (a)-[r]->(b)
  RETURN collect([type(r), coalesce(a.transaction_id, a.entity_type + ':' + a.entity_id),
                  coalesce(b.transaction_id, b.entity_type + ':' + b.entity_id), properties(r)]) AS relationships
}
RETURN nodes, relationships
