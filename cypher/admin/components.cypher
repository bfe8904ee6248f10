// admin/components: the server's version and edition (`graphfraud neo4j status`). Parameters: none.
CALL dbms.components() YIELD versions, edition
RETURN versions[0] AS version, edition
