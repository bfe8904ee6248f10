"""graphfraud: fraud-ring detection on a payments graph in Neo4j with a heterogeneous GNN."""

__version__ = "0.1.0"
