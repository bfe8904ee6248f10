// test/schema_objects: the graph's indexes (constraint-backed ones included) by name, type, labels and properties:
// a bulk-imported graph must end with the schema an UNWIND load makes. Parameters: none.
SHOW INDEXES YIELD name, type, labelsOrTypes, properties
RETURN name, type, labelsOrTypes, properties ORDER BY name
