"""build-graph --engine spark: the load of ingest.py done by Apache Spark, written with the Neo4j Connector.

Spark reads and checks the files (spark.py: the contract's rules as data), decides each row's fate in the ledger
with window functions, and writes entities, transactions, chargebacks and labels through the connector (query mode,
cypher/spark/*). The decisions are those of ingest.py, which loads file by file in load order:

- transactions: the first row of an id in a file is compared with the graph as it stands when that file loads (what
  was there before the load, else the first row of the earliest file that had the id): absent -> loaded, same
  content_hash -> already present, other -> quarantined (CONFLICT_IN_GRAPH). A later row of the id in the same file
  with the same content shares that fate (present, or quarantined with it); with other content it is quarantined
  (CONFLICT_IN_LOAD).
- chargebacks: a transaction neither in the graph nor loaded now -> every report of it quarantined
  (UNKNOWN_TRANSACTION); else a file's earliest report loads when earlier than every chargeback known by then.
- labels: a file's latest label of an entity loads when newer than every label known by then; another label at that
  same time in the file is quarantined (LABEL_CONFLICT).

So the graph, the ledger and the quarantine are build-graph's (tests/test_spark_ingest.py). Writes are idempotent
(MERGE; only ids absent at the start are created), so a rerun after a crash completes the graph. The ledger is
decided on the graph as read at the start: a load running at the same time that creates the same transactions makes
this one fail on the uniqueness constraint (nothing is duplicated), and a rerun completes it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from . import rules as r
from . import spark as sp
from . import validate as v
from .db import Graph
from .ingest import (CONFLICT_IN_GRAPH, CONFLICT_IN_LOAD, LABEL_CONFLICT, UNKNOWN_TRANSACTION, LoadSummary, Progress,
                     Quarantine)
from .registry import ENTITIES, OPTIONAL_ENTITIES

LOADED, PRESENT = "__loaded__", "__present__"  # outcomes that are not quarantine reasons
F_IDX = sp.FILE_INDEX  # the file's place in load order
HASH_COLUMNS = ["transaction_id", "ts", "card_id", "merchant_id", "amount", "currency", "mcc", "country", "channel",
                "status", *[e.column for e in OPTIONAL_ENTITIES]]


def _with_hash(good: Any) -> Any:
    """Good transaction rows with content_hash: validate.content_hash, run on each partition by the executors."""
    from pyspark.sql.types import LongType, StructField, StructType
    schema = StructType([*good.schema.fields, StructField("content_hash", LongType())])
    names = good.columns

    def run(rows):
        import polars as pl
        rows = list(rows)
        if not rows:
            return
        df = pl.DataFrame([tuple(x) for x in rows], schema=names, orient="row")
        for row, h in zip(rows, v.content_hash(df.select(HASH_COLUMNS).with_columns(
                pl.col("ts").cast(pl.Int64), pl.col("amount").cast(pl.Float64)))):
            yield (*row, h)
    return good.sparkSession.createDataFrame(good.rdd.mapPartitions(run), schema)


def _transactions(good: Any, existing: Any) -> Any:
    """Each good transaction row with its outcome (LOADED, PRESENT or a quarantine reason)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    in_file = Window.partitionBy("transaction_id", F_IDX).orderBy(r.ROW)
    rows = good.withColumn("_rn", F.row_number().over(in_file)).withColumn(
        "_h_first", F.first("content_hash").over(in_file))
    by_file = Window.partitionBy("transaction_id").orderBy(F_IDX)
    firsts = (rows.filter("_rn = 1").select("transaction_id", F_IDX, "content_hash")
              .withColumn("_g_h", F.first("content_hash").over(by_file))
              .withColumn("_g_f", F.first(F_IDX).over(by_file))
              .join(existing.select("transaction_id", F.col("content_hash").alias("_old_h")), "transaction_id", "left"))
    first_fate = F.when(F.col("_old_h").isNotNull(),
                        F.when(F.col("content_hash") == F.col("_old_h"), PRESENT).otherwise(CONFLICT_IN_GRAPH)) \
        .when(F.col(F_IDX) == F.col("_g_f"), LOADED) \
        .when(F.col("content_hash") == F.col("_g_h"), PRESENT).otherwise(CONFLICT_IN_GRAPH)
    firsts = firsts.select("transaction_id", F_IDX, first_fate.alias("_first_fate"))
    fate = F.when(F.col("_rn") == 1, F.col("_first_fate")) \
        .when(F.col("content_hash") != F.col("_h_first"), CONFLICT_IN_LOAD) \
        .when(F.col("_first_fate") == CONFLICT_IN_GRAPH, CONFLICT_IN_GRAPH).otherwise(PRESENT)
    return rows.join(firsts, ["transaction_id", F_IDX]).withColumn("fate", fate)


def _chargebacks(good: Any, known: Any) -> Any:
    """Each good chargeback row with its outcome; `known`: transaction_id, chargeback_ms of every transaction in the
    graph once this load's transactions are in (chargeback_ms as before the load)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    in_file = Window.partitionBy("transaction_id", F_IDX).orderBy("ms", r.ROW)
    rows = good.withColumn("_rn", F.row_number().over(in_file))
    earlier = Window.partitionBy("transaction_id").orderBy(F_IDX).rowsBetween(Window.unboundedPreceding, -1)
    firsts = rows.filter("_rn = 1").select("transaction_id", F_IDX, F.min("ms").over(earlier).alias("_prev"))
    rows = rows.join(firsts, ["transaction_id", F_IDX]).join(
        known.select("transaction_id", F.col("chargeback_ms").alias("_old"), F.lit(True).alias("_known")),
        "transaction_id", "left")
    before = F.least(F.col("_prev"), F.col("_old"))  # least() skips nulls
    fate = F.when(F.col("_known").isNull(), UNKNOWN_TRANSACTION) \
        .when((F.col("_rn") == 1) & (before.isNull() | (F.col("ms") < before)), LOADED).otherwise(PRESENT)
    return rows.withColumn("fate", fate)


def _labels(good: Any, existing: Any) -> Any:
    """Each good label row with its outcome; `existing`: entity_type, entity_id, labelled_ms before the load."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    key = ["entity_type", "entity_id"]
    in_file = Window.partitionBy(*key, F_IDX).orderBy(F.col("ms").desc(), r.ROW)
    rows = (good.withColumn("_rn", F.row_number().over(in_file))
            .withColumn("_ms1", F.first("ms").over(in_file)).withColumn("_label1", F.first("label").over(in_file)))
    earlier = Window.partitionBy(*key).orderBy(F_IDX).rowsBetween(Window.unboundedPreceding, -1)
    firsts = rows.filter("_rn = 1").select(*key, F_IDX, F.max("ms").over(earlier).alias("_prev"))
    rows = rows.join(firsts, [*key, F_IDX]).join(existing.withColumnRenamed("labelled_ms", "_old"), key, "left")
    after = F.greatest(F.col("_prev"), F.col("_old"))  # greatest() skips nulls
    fate = F.when((F.col("_rn") > 1) & (F.col("ms") == F.col("_ms1")) & (F.col("label") != F.col("_label1")),
                  LABEL_CONFLICT) \
        .when((F.col("_rn") == 1) & (after.isNull() | (F.col("ms") > after)), LOADED).otherwise(PRESENT)
    return rows.withColumn("fate", fate)


def _entities(loaded: Any) -> Any:
    """The entities the loaded transactions name (entity_type, entity_id, label, key, mcc, country): a merchant's mcc
    and country from its first loaded row in load order, as ingest/transactions sets them on create."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    parts = []
    for e in ENTITIES:
        rows = loaded.filter(F.col(e.column).isNotNull())
        if e.name == "merchant":
            first = Window.partitionBy(e.column).orderBy(F_IDX, r.ROW)
            rows = rows.withColumn("_rn", F.row_number().over(first)).filter("_rn = 1")
            mcc, country = F.col("mcc"), F.col("country")
        else:
            rows = rows.select(e.column).distinct()
            mcc = country = F.lit(None).cast("string")
        parts.append(rows.select(F.lit(e.name).alias("entity_type"), F.col(e.column).alias("entity_id"),
                                 F.lit(e.label).alias("label"), F.lit(e.key).alias("key"),
                                 mcc.alias("mcc"), country.alias("country")))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _links() -> Any:
    """Per transaction, [entity_type, entity_id, relationship type] of each optional entity it names."""
    from pyspark.sql import functions as F
    return F.filter(F.array(*[F.when(F.col(e.column).isNotNull(), F.array(F.lit(e.name), F.col(e.column),
                                                                          F.lit(e.rel)))
                              for e in OPTIONAL_ENTITIES]), lambda x: x.isNotNull())


def spark_build_graph(graph: Graph, paths: list[Path] | list[str], quarantine_dir: Path,
                      master: str | None = "local[2]", rules: r.Plausibility = r.Plausibility(),
                      progress: Progress | None = None) -> LoadSummary:
    """Load the files under `paths` (local paths, or URIs of any Hadoop-compatible file system: hdfs://, s3a://,
    file:// ...) with Spark and the Neo4j connector; returns build-graph's summary (the same ledger as
    ingest.build_graph would give for the same files and graph; quarantine written here, on the driver). `master`:
    None under spark-submit."""
    local = not any(v.is_uri(p) for p in paths)
    inputs = v.discover(paths) if local else None  # local files: every header checked before Spark starts
    graph.ensure_schema()
    spark = sp.session(master, conf=sp.local_conf(graph.settings, master))
    try:
        if inputs is None:  # URIs: listed and checked through Spark's Hadoop file systems, by the same rules
            inputs = v.discover(paths, sp.HadoopFiles(spark))
        return _load(spark, graph, inputs, quarantine_dir, rules, progress)
    finally:
        spark.stop()


def _load(spark: Any, graph: Graph, inputs: v.Inputs, quarantine_dir: Path, rules: r.Plausibility,
          progress: Progress | None) -> LoadSummary:
    """spark_build_graph's work in a running session."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    started = time.perf_counter()
    settings = graph.settings
    summary = LoadSummary(skipped_files=inputs.skipped, rejected_files=list(inputs.rejected))
    total = sum(v.estimate_rows(f) for f in inputs.files if not v.is_uri(f.path))  # remote files: counted as read
    bad_rows: list[tuple[int, int, str, str, str]] = []  # (file index, row, kind, reason, row as read)

    def tick(rows_done: int, phase: str) -> None:
        """Progress, and the seconds of each phase (summary.phases)."""
        summary.phases[phase] = time.perf_counter() - started - sum(summary.phases.values())
        if progress:
            progress(rows_done, max(total, rows_done))

    def checked(kind: str) -> Any:
        """The kind's good rows in canonical form, with _f; files it cannot parse are noted as rejected, rows that
        break a rule are quarantined."""
        raw = sp.read(spark, inputs.files, kind).persist()
        rejected = dict(raw.filter(F.col(r.ROW) == sp.REJECTED_ROW).select(sp.FILE, r.BROKEN).collect())
        summary.rejected_files += [(p if v.is_uri(p) else Path(p), why) for p, why in rejected.items()]
        data = raw.filter(F.col(r.ROW) != sp.REJECTED_ROW)
        counts = summary.kinds[kind]
        gone = {sp.file_key(p) for p in rejected}
        counts.files = sum(f.kind == kind and sp.file_key(f.path) not in gone for f in inputs.files)
        counts.rows_read = data.count()
        rows = sp.check(data, kind, rules).persist()
        note(rows.filter(F.col("reason").isNotNull()), kind)
        return rows.filter(F.col("reason").isNull()).drop("reason")

    def note(bad: Any, kind: str, reason: Any = None) -> None:
        """Quarantine rows (with `reason`, or their own reason column)."""
        picked = bad.select(F_IDX, r.ROW, (reason if reason is not None else F.col("reason")).alias("reason"),
                            sp.AS_READ).collect()
        bad_rows.extend((f, row, kind, why, text) for f, row, why, text in picked)
        summary.kinds[kind].rows_quarantined += len(picked)

    def ledger(rows: Any, kind: str) -> Any:
        """Count each row's fate (fate column); quarantine the rows whose fate is a reason; return the loaded rows."""
        rows = rows.persist()
        fates = dict(rows.groupBy("fate").count().collect())
        counts = summary.kinds[kind]
        counts.rows_loaded += fates.pop(LOADED, 0)
        counts.rows_already_present += fates.pop(PRESENT, 0)
        note(rows.filter(~F.col("fate").isin(LOADED, PRESENT)), kind, F.col("fate"))
        return rows.filter(F.col("fate") == LOADED)

    # transactions: the ledger, then entities and transactions through the connector
    existing = sp.read_query(spark, settings, "spark/existing_transactions",
                             "transaction_id string, content_hash long, chargeback_ms long").persist()
    tx = ledger(_transactions(_with_hash(checked("transactions")), existing), "transactions")
    tick(summary.kinds["transactions"].rows_read // 2, "transactions: read, check, ledger")
    # One partition per write: Neo4j serialises writes on shared nodes (a merchant, a card) anyway, and parallel
    # batches touching the same nodes wait on each other's locks and deadlock (measured: 5x slower on 2 partitions).
    sp.write(_entities(tx).coalesce(1), settings, "spark/entities")
    graph.write_autocommit("spark/replan", {"timeout_s": 300})  # plan the lookups below on the entities written
    tick(summary.kinds["transactions"].rows_read // 2, "entities: write")
    sp.write(tx.select("transaction_id", "ts", "card_id", "merchant_id", "amount", "currency", "mcc",
                       "country", "channel", "status", "content_hash", _links().alias("links")).coalesce(1),
             settings, "spark/transactions")
    tick(summary.kinds["transactions"].rows_read, "transactions: write")

    # chargebacks: against the transactions in the graph now (those before the load and those just loaded)
    known = existing.select("transaction_id", "chargeback_ms").unionByName(
        tx.select("transaction_id", F.lit(None).cast("long").alias("chargeback_ms")))
    cb = ledger(_chargebacks(checked("chargebacks"), known), "chargebacks")
    sp.write(cb.groupBy("transaction_id").agg(F.min("ms").alias("ms")).coalesce(1), settings, "spark/chargebacks")
    tick(summary.rows_read, "chargebacks")

    # labels: the newest per entity wins
    old_labels = sp.read_query(spark, settings, "spark/existing_labels",
                               "entity_type string, entity_id string, labelled_ms long")
    lab = ledger(_labels(checked("labels"), old_labels), "labels")
    registry = spark.createDataFrame([(e.name, e.label, e.key) for e in ENTITIES], "entity_type string, "
                                     "node_label string, key string")
    newest = lab.withColumn("_n", F.row_number().over(Window.partitionBy("entity_type", "entity_id").orderBy(
        F.col("ms").desc(), F.col(F_IDX)))).filter("_n = 1")
    sp.write(newest.select("entity_type", "entity_id", "label", "ms").join(F.broadcast(registry), "entity_type")
             .coalesce(1), settings, "spark/labels")
    tick(summary.rows_read, "labels")

    quarantine = Quarantine(quarantine_dir)
    for f_idx, rows in _by_file(bad_rows).items():
        quarantine.add_rows(inputs.files[f_idx], rows)
    summary.quarantine_file = quarantine.path if quarantine.used else None
    summary.seconds = time.perf_counter() - started
    return summary


def _by_file(bad_rows: list[tuple[int, int, str, str, str]]) -> dict[int, list[tuple[int, str, str]]]:
    """Quarantined rows grouped by file in load order, each file's in row order: (row, reason, row as read)."""
    out: dict[int, list[tuple[int, str, str]]] = {}
    for f, row, _, why, text in sorted(bad_rows, key=lambda x: (x[0], x[1])):
        out.setdefault(f, []).append((row, why, text))
    return out


def main(argv: list[str] | None = None) -> None:
    """The spark-submit entry point (spark/job.py): loads PATH... into the Neo4j of the environment's settings
    (NEO4J_URI ...) on the cluster spark-submit names, and prints the ledger as JSON."""
    import json
    import sys

    from .config import load_settings
    from .validate import plausibility
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: spark-submit --jars $(ls spark/target/lib/*.jar | paste -sd,) spark/job.py PATH...")
    s = load_settings()
    with Graph.connect(s) as g:
        summary = spark_build_graph(g, args, s.state_dir / "quarantine", master=None, rules=plausibility(s))
    print(json.dumps(summary.as_dict(), indent=2))
