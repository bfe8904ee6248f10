// admin/size: how many nodes and relationships the database holds (count store: instant). Parameters: none.
RETURN COUNT { MATCH (n) } AS nodes, COUNT { MATCH ()-[r]->() } AS relationships
