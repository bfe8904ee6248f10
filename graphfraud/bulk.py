"""build-graph --bulk: the initial load of a large history through Neo4j's offline importer.

The same validation, quarantine and ledger as the UNWIND path (ingest.load_files), with a different sink: BulkSink
answers "is this transaction new / this chargeback earlier / this label later" from memory, exactly as the graph
would after the rows before it, and keeps what the graph would hold. `bulk_build_graph` then writes that as the
importer's CSV files (one per node label and relationship type), stops the server, runs `neo4j-admin database
import full` into the (empty) database, starts the server and creates the constraints and indexes. The graph has the
same labels, keys, properties and content hashes as an UNWIND load of the same files, so later days load on top of
it as usual. Only for an empty database: a graph already holding data is refused (load it incrementally instead).
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from . import neo4j_server
from . import validate as v
from .db import Graph
from .errors import UsageError
from .locks import results_lock
from .ingest import TX_FIELDS, LoadSummary, Progress, load_files
from .registry import ENTITIES, OPTIONAL_ENTITIES

ISO_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"  # datetime({epochMillis}) of the UNWIND path, as the importer reads it


class BulkSink:
    """The graph-to-be in memory: what the rows loaded so far would have written, in load order."""

    def __init__(self) -> None:
        self.tx: list[pl.DataFrame] = []  # new transactions, in load order (TX_FIELDS + optional entity columns)
        # the earliest chargeback per transaction, the latest label per entity (epoch ms)
        self.cb = pl.DataFrame(schema={"transaction_id": pl.String, "ms": pl.Int64})
        self.lab = pl.DataFrame(schema={"entity_type": pl.String, "entity_id": pl.String, "label": pl.String,
                                           "ms": pl.Int64})

    def _ids(self) -> pl.DataFrame:
        if not self.tx:
            return pl.DataFrame(schema={"transaction_id": pl.String, "old_hash": pl.Int64})
        return pl.concat([f.select("transaction_id", old_hash="content_hash") for f in self.tx], rechunk=False)

    def transactions(self, batch: pl.DataFrame) -> tuple[int, set[str]]:
        known = batch.select("transaction_id", "content_hash").join(self._ids(), on="transaction_id", how="left")
        new = known["old_hash"].is_null()
        conflicts = set(known.filter(~new & (pl.col("old_hash") != pl.col("content_hash")))["transaction_id"])
        cols = TX_FIELDS + [e.column for e in OPTIONAL_ENTITIES if e.column in batch.columns]
        self.tx.append(batch.filter(new).select(cols))
        return int(new.sum()), conflicts

    def chargebacks(self, batch: pl.DataFrame) -> tuple[int, set[str]]:
        rows = batch.select("transaction_id", "ms")
        exists = rows.join(self._ids().select("transaction_id"), on="transaction_id", how="semi")
        unknown = set(rows["transaction_id"]) - set(exists["transaction_id"])
        cmp = exists.join(self.cb.rename({"ms": "old"}), on="transaction_id", how="left")
        to_set = cmp.filter(pl.col("old").is_null() | (pl.col("old") > pl.col("ms")))
        self.cb = pl.concat([self.cb.join(to_set, on="transaction_id", how="anti"),
                                      to_set.select("transaction_id", "ms")])
        return to_set.height, unknown

    def labels(self, batch: pl.DataFrame) -> int:
        key = ["entity_type", "entity_id"]
        rows = batch.select(*key, "label", "ms")
        cmp = rows.join(self.lab.select(*key, old=pl.col("ms")), on=key, how="left")
        to_set = cmp.filter(pl.col("old").is_null() | (pl.col("old") < pl.col("ms"))).drop("old")
        self.lab = pl.concat([self.lab.join(to_set, on=key, how="anti"), to_set])
        return to_set.height


def _csv(df: pl.DataFrame, path: Path) -> Path:
    df.write_csv(path, null_value="")
    return path


def import_files(sink: BulkSink, out: Path) -> list[str]:
    """Write the importer's CSV files for what `sink` holds into `out`; returns the importer's --nodes and
    --relationships arguments. Import ids are integers (--id-type=integer: the importer maps them faster than strings,
    and the relationship files are a fraction of the size): a transaction's is its row, an entity's its row among
    all entities (types one after another); neither is stored as a property."""
    out.mkdir(parents=True, exist_ok=True)
    tx = pl.concat(sink.tx, rechunk=True) if sink.tx else pl.DataFrame(
        schema={c: pl.String for c in TX_FIELDS}).cast({"ts": pl.Int64, "amount": pl.Float64, "content_hash": pl.Int64})
    tx = tx.join(sink.cb.rename({"ms": "cb_ms"}), on="transaction_id", how="left").with_row_index("_tx")
    args = []
    utc = pl.Datetime("ms", "UTC")
    nodes = tx.select(
        pl.col("_tx").alias(":ID(Transaction)"), "transaction_id",
        pl.col("ts").cast(utc).dt.strftime(ISO_MS).alias("timestamp:datetime"),
        pl.col("amount").alias("amount:double"), "currency", "mcc", "country", "channel", "status",
        pl.col("content_hash").alias("content_hash:long"),
        pl.col("cb_ms").cast(utc).dt.strftime(ISO_MS).alias("chargeback_at:datetime"))
    args.append(f"--nodes=Transaction={_csv(nodes, out / 'transactions.csv')}")
    labels = sink.lab.with_columns(labelled=pl.col("ms").cast(utc).dt.strftime(ISO_MS))
    offset = 0  # import ids of the entity types written so far
    for e in ENTITIES:
        have = e.column in tx.columns
        seen = (tx.filter(pl.col(e.column).is_not_null()).select(entity_id=pl.col(e.column), _order=pl.int_range(pl.len()))
                if have else pl.DataFrame(schema={"entity_id": pl.String, "_order": pl.Int64}))
        ents = seen.group_by("entity_id").agg(pl.col("_order").min())
        if e.name == "merchant":  # mcc and country from the first loaded row of the merchant (ON CREATE)
            first = tx.select(_order=pl.int_range(pl.len()), mcc="mcc", country="country")
            ents = ents.join(first, on="_order", how="left")
        lab = labels.filter(pl.col("entity_type") == e.name).select("entity_id", "label", "labelled")
        ents = ents.join(lab, on="entity_id", how="full", coalesce=True).sort("entity_id")
        if ents.height == 0:
            continue
        ents = ents.with_columns(_id=pl.int_range(offset, offset + ents.height, dtype=pl.Int64))
        offset += ents.height
        props = [pl.col("entity_id").alias(e.key)] + ([pl.col("mcc"), pl.col("country")] if e.name == "merchant" else [])
        frame = ents.select(
            pl.col("_id").alias(":ID(Entity)"),
            pl.lit(e.name).alias("entity_type"), pl.col("entity_id"), *props,
            pl.col("label").alias("confirmed_label"), pl.col("labelled").alias("labelled_at:datetime"))
        args.append(f"--nodes=Entity:{e.label}={_csv(frame, out / f'entity_{e.name}.csv')}")
        if not have:
            continue
        links = tx.filter(pl.col(e.column).is_not_null()).join(
            ents.select(pl.col("entity_id").alias(e.column), "_id"), on=e.column, how="left")
        if e.name == "card":  # (:Card)-[:MADE]->(t)
            rel = links.select(pl.col("_id").alias(":START_ID(Entity)"), pl.col("_tx").alias(":END_ID(Transaction)"))
        else:  # (t)-[:AT|ON_DEVICE|...]->(entity)
            rel = links.select(pl.col("_tx").alias(":START_ID(Transaction)"), pl.col("_id").alias(":END_ID(Entity)"))
        args.append(f"--relationships={e.rel}={_csv(rel, out / f'rel_{e.rel}.csv')}")
    return args


def bulk_build_graph(graph: Graph, paths: list[Path], quarantine_dir: Path, progress: Progress | None = None,
                     rules: v.Plausibility = v.Plausibility()) -> LoadSummary:
    """Validate and load `paths` into the EMPTY local database with the offline importer (see the module doc).
    Raises UsageError (nothing written) when the database holds data, the server is not the local one, or a path
    is missing. The server is stopped for the import and started again; `graph` is reconnected to it. Holds the
    results lock throughout (locks.py): no second bulk load, score or nightly runs while the store is replaced."""
    if not graph.settings.is_local:
        raise UsageError("--bulk imports into the local server's store: unset NEO4J_URI, or load without --bulk")
    with results_lock(graph.settings, "build-graph --bulk"):
        return _bulk(graph, paths, quarantine_dir, progress, rules)


def _bulk(graph: Graph, paths: list[Path], quarantine_dir: Path, progress: Progress | None,
          rules: v.Plausibility) -> LoadSummary:
    settings = graph.settings
    started = time.perf_counter()
    inputs = v.discover(paths)
    size = graph.read("admin/size")[0]
    if size["nodes"]:
        raise UsageError(f"--bulk loads an empty database only; this one holds {size['nodes']:,} nodes "
                         "(load without --bulk, or `graphfraud reset --yes` first)")
    sink = BulkSink()
    clock = time.perf_counter()
    summary = load_files(sink, inputs, batch_size=1 << 62, quarantine_dir=quarantine_dir, progress=progress,
                         rules=rules)
    phases = summary.phases

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = now - clock
        clock = now

    lap("validate")
    staging = settings.state_dir / "bulk" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    try:
        args = import_files(sink, staging)
        lap("write_files")
        neo4j_server.stop(settings)
        lap("stop_server")
        neo4j_server.offline_import(settings, ["neo4j", "--overwrite-destination=true", "--ignore-empty-strings=true",
                                               "--id-type=integer", "--report-file", str(staging / "import.report"),
                                               *args])
        lap("import")
    finally:
        neo4j_server.start(settings)
        shutil.rmtree(staging, ignore_errors=True)
        graph.reopen()
        lap("start_server")
    graph.ensure_schema()
    lap("schema")
    summary.seconds = time.perf_counter() - started
    return summary

