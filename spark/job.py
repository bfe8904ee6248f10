"""build-graph on a Spark cluster: spark-submit --master spark://HOST:7077 \
    --jars $(ls spark/target/lib/*.jar | paste -sd,) spark/job.py PATH...

The driver and the executors need graphfraud installed (pip install 'graphfraud[spark]'); Neo4j is the one the
environment names (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD). Prints build-graph's ledger as JSON.
"""

from graphfraud.spark_ingest import main

main()
