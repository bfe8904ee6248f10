"""build-graph: load transactions, chargebacks and labels into Neo4j, validated, idempotent and batched.

Every file's header is checked before anything is written; bad rows go to a quarantine CSV with a reason.
Each batch is one write transaction that MERGEs entities and CREATEs only transactions absent from the
graph, so a rerun after any interruption completes the graph without duplicates. Invariant of the summary:
rows_read = rows_loaded + rows_quarantined + rows_already_present.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from . import validate as v
from .db import Graph
from .errors import GraphfraudError, UsageError
from .killpoints import kill_point
from .registry import OPTIONAL_ENTITIES, cypher_params

# progress(rows_done, rows_total_estimate): called after each batch and each file.
Progress = Callable[[int, int], None]

CONFLICT_IN_LOAD = "transaction_id repeated in this load with different content (first row kept)"
CONFLICT_IN_GRAPH = "transaction_id already in the graph with different content"
UNKNOWN_TRANSACTION = "chargeback for a transaction_id not in the graph"
LABEL_CONFLICT = "another label for the same entity at the same labelled_at in this load (first row kept)"


@dataclass
class KindCounts:
    """Rows of one kind: read = loaded + quarantined + already_present."""

    files: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_already_present: int = 0


@dataclass
class LoadSummary:
    """What a build-graph run did, per kind and in total."""

    kinds: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in v.KIND_ORDER})
    quarantine_file: Path | None = None  # None when no row was quarantined
    skipped_files: list[tuple[Path, str]] = field(default_factory=list)  # files in the folders that are not input
    rejected_files: list[tuple[Path, str]] = field(default_factory=list)  # input files unusable as a whole, and why
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # --bulk: seconds per phase (validate, write, import ...)

    def total(self, name: str) -> int:
        return sum(getattr(k, name) for k in self.kinds.values())

    @property
    def rows_read(self) -> int:
        return self.total("rows_read")

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {name: self.total(name) for name in
                             ("rows_read", "rows_loaded", "rows_quarantined", "rows_already_present")}
        d["quarantine_file"] = str(self.quarantine_file) if self.quarantine_file else None
        d["skipped_files"] = [{"file": str(p), "reason": r} for p, r in self.skipped_files]
        d["rejected_files"] = [{"file": str(p), "reason": r} for p, r in self.rejected_files]
        d["files"] = self.total("files")
        d.update({kind: vars(c).copy() for kind, c in self.kinds.items()})
        d["seconds"] = round(self.seconds, 3)
        if self.phases:
            d["phases"] = {k: round(v, 1) for k, v in self.phases.items()}
        d["rows_per_s"] = round(self.rows_per_s, 1)
        return d


class Quarantine:
    """The quarantine CSV (file, row, kind, reason, row as read as JSON), created on the first bad row."""

    def __init__(self, directory: Path):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self.path = Path(directory) / f"{stamp}.csv"
        self.used = False

    def add(self, f: v.SourceFile, raw: pl.DataFrame, rows: pl.DataFrame) -> int:
        """Append `rows` (columns _row, reason) of file `f`, whose rows as read are in `raw`; returns the count."""
        if rows.height == 0:
            return 0
        bad = rows.select(v.ROW, "reason").join(raw, on=v.ROW, how="left").sort(v.ROW)
        return self.add_rows(f, list(zip(bad[v.ROW], bad["reason"], v.row_as_read(bad, f.kind))))

    def add_rows(self, f: v.SourceFile, rows: list[tuple[int, str, str]]) -> int:
        """Append (row, reason, row as read as JSON) of file `f`; returns the count."""
        if not rows:
            return 0
        if not self.used:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="", encoding="utf-8", errors="surrogateescape") as fh:
            w = csv.writer(fh)
            if not self.used:
                w.writerow(["file", "row", "kind", "reason", "row_as_read"])
                self.used = True
            for row, reason, text in rows:
                w.writerow([str(f.path), row, f.kind, reason, text])
        return len(rows)


def _batches(df: pl.DataFrame, size: int):
    for start in range(0, df.height, size):
        yield df.slice(start, size)


class GraphSink:
    """Where validated batches go on the UNWIND path: write transactions into the live graph (one managed
    transaction per batch). bulk.BulkSink answers the same three calls from memory for the offline importer."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def transactions(self, batch: pl.DataFrame) -> tuple[int, set[str]]:
        """Create the batch's transactions absent from the graph; returns (created, ids there with other content)."""
        params = {c: batch.get_column(c).to_list() for c in TX_FIELDS}
        params["links"] = _links(batch)

        def nodes(first: dict[str, Any]) -> dict[str, Any]:
            """The second step's rows and, per row, the element ids of the entities the first step merged: the
            second step finds them by id, a lookup no planner can get wrong (by key, Neo4j at times kept a plan
            made while the entity index looked empty, and a 133k-row load took 10 min, not 45 s)."""
            card, merchant = dict(first["cards"]), dict(first["merchants"])
            linked = {(t, i): e for t, i, e in first["linked"]}
            return {"new": first["new"], "card_node": [card.get(c) for c in params["card_id"]],
                    "merchant_node": [merchant.get(m) for m in params["merchant_id"]],
                    "link_nodes": [[linked.get((t, i)) for t, i in row] for row in params["links"]]}

        res = self.graph.write_two_steps("ingest/transactions", "ingest/transaction_links",
                                         {**params, **cypher_params()}, carry=nodes)
        return res["created"], set(res["conflicts"])

    def chargebacks(self, batch: pl.DataFrame) -> tuple[int, set[str]]:
        """Record the earliest chargeback per transaction; returns (set, ids of transactions not in the graph)."""
        res = self.graph.write("ingest/chargebacks", {"rows": batch.select("transaction_id", "ms").to_dicts()})[0]
        return res["set"], set(res["unknown"])

    def labels(self, batch: pl.DataFrame) -> int:
        """Record the latest label per entity; returns how many were written."""
        key = ["entity_type", "entity_id"]
        return self.graph.write("ingest/labels", {"rows": batch.select(*key, "label", "ms").to_dicts(),
                                                  **cypher_params()})[0]["set"]


TX_FIELDS = ["transaction_id", "ts", "card_id", "merchant_id", "amount", "currency", "mcc", "country", "channel",
             "status", "content_hash"]


def _load_transactions(sink: GraphSink, good: pl.DataFrame, batch_size: int,
                       tick: Callable[[int], None]) -> tuple[int, int, pl.DataFrame]:
    """Write a file's good transactions (the first row per id). Returns (loaded, present, quarantined)."""
    good = good.with_columns(pl.Series("content_hash", v.content_hash(good)))
    good = good.with_columns(
        first=pl.int_range(pl.len()).over("transaction_id") == 0,
        same=pl.col("content_hash") == pl.col("content_hash").first().over("transaction_id"))
    dups = good.filter(~pl.col("first") & pl.col("same"))  # repeated identically within the file
    clash = good.filter(~pl.col("first") & ~pl.col("same")).with_columns(reason=pl.lit(CONFLICT_IN_LOAD))
    todo = good.filter(pl.col("first"))
    loaded, conflict_ids = 0, set()
    for batch in _batches(todo, batch_size):
        created, conflicts = sink.transactions(batch)
        loaded += created
        conflict_ids.update(conflicts)
        tick(batch.height)
        kill_point("ingest.batch")
    # A row whose id clashed with the graph is quarantined, and so are its identical repeats in this file.
    rejected = pl.col("transaction_id").is_in(list(conflict_ids))
    bad = pl.concat([clash, pl.concat([todo.filter(rejected), dups.filter(rejected)])
                     .with_columns(reason=pl.lit(CONFLICT_IN_GRAPH))])
    return loaded, good.height - loaded - bad.height, bad


def _links(batch: pl.DataFrame) -> list[list[list[str]]]:
    """Per row, [entity_type, entity_id] of each optional entity it names (device, IP, e-mail ...)."""
    cols = [(e.name, batch.get_column(e.column).to_list()) for e in OPTIONAL_ENTITIES]
    return [[[t, vals[i]] for t, vals in cols if vals[i] is not None] for i in range(batch.height)]


def _load_chargebacks(sink: GraphSink, good: pl.DataFrame, batch_size: int,
                      tick: Callable[[int], None]) -> tuple[int, int, pl.DataFrame]:
    """Write a file's good chargebacks (the earliest per transaction). Returns (loaded, present, quarantined)."""
    good = good.sort(["transaction_id", "ms", v.ROW]).with_columns(
        first=pl.int_range(pl.len()).over("transaction_id") == 0)
    todo, later = good.filter(pl.col("first")), good.filter(~pl.col("first"))
    loaded, unknown = 0, set()
    for batch in _batches(todo, batch_size):
        n_set, missing = sink.chargebacks(batch)
        loaded += n_set
        unknown.update(missing)
        tick(batch.height)
    rejected = pl.col("transaction_id").is_in(list(unknown))
    bad = pl.concat([todo.filter(rejected), later.filter(rejected)]).with_columns(reason=pl.lit(UNKNOWN_TRANSACTION))
    present = good.height - loaded - bad.height  # already recorded, or a later report of one in this load
    return loaded, present, bad


def _load_labels(sink: GraphSink, good: pl.DataFrame, batch_size: int,
                 tick: Callable[[int], None]) -> tuple[int, int, pl.DataFrame]:
    """Write a file's good labels (the latest per entity). Returns (loaded, present, quarantined)."""
    key = ["entity_type", "entity_id"]
    good = good.sort([*key, "ms", v.ROW], descending=[False, False, True, False]).with_columns(
        first=pl.int_range(pl.len()).over(key) == 0,
        clash=(pl.col("ms") == pl.col("ms").first().over(key)) & (pl.col("label") != pl.col("label").first().over(key)))
    todo = good.filter(pl.col("first"))
    bad = good.filter(~pl.col("first") & pl.col("clash")).with_columns(reason=pl.lit(LABEL_CONFLICT))
    loaded = 0
    for batch in _batches(todo, batch_size):
        loaded += sink.labels(batch)
        tick(batch.height)
    return loaded, good.height - loaded - bad.height, bad


def build_graph(graph: Graph, paths: list[Path], batch_size: int, quarantine_dir: Path,
                progress: Progress | None = None, rules: v.Plausibility = v.Plausibility()) -> LoadSummary:
    """Load the files under `paths` into the graph; returns what was read, loaded, quarantined, already there.

    A file unusable as a whole (unreadable, or lacking required columns) is rejected with the reason
    (summary.rejected_files) and the others load. Raises UsageError (nothing written) when a path is missing.
    """
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, not {batch_size}")
    started = time.perf_counter()
    inputs = v.discover(paths)  # every header checked before any write
    graph.ensure_schema()
    summary = load_files(GraphSink(graph), inputs, batch_size, quarantine_dir, progress, rules)
    summary.seconds = time.perf_counter() - started
    return summary


def load_files(sink: GraphSink, inputs: v.Inputs, batch_size: int, quarantine_dir: Path,
               progress: Progress | None = None, rules: v.Plausibility = v.Plausibility()) -> LoadSummary:
    """Validate every discovered file in load order and hand its good rows to `sink`; the ledger of what happened
    to each row (the same whether the sink is the live graph or the bulk importer's staging)."""
    files = inputs.files
    total = sum(v.estimate_rows(f) for f in files)
    summary = LoadSummary(skipped_files=inputs.skipped, rejected_files=list(inputs.rejected))
    quarantine = Quarantine(quarantine_dir)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, max(total, done))

    for f in files:
        try:
            raw = v.read(f)
        except GraphfraudError as e:  # unreadable past its header (binary junk, a truncated file): the others load
            summary.rejected_files.append((f.path, e.message))
            continue
        checked = v.check(raw, f.kind, rules)
        counts = summary.kinds[f.kind]
        counts.files += 1
        counts.rows_read += raw.height
        counts.rows_quarantined += quarantine.add(f, raw, checked.filter(pl.col("reason").is_not_null()))
        good = checked.filter(pl.col("reason").is_null())
        before = done
        load = {"transactions": _load_transactions, "chargebacks": _load_chargebacks, "labels": _load_labels}[f.kind]
        loaded, present, bad = load(sink, good, batch_size, tick)
        counts.rows_quarantined += quarantine.add(f, raw, bad)
        counts.rows_loaded += loaded
        counts.rows_already_present += present
        tick(raw.height - (done - before))  # rows not sent in a batch: quarantined or repeated
        kill_point("ingest.file")
    summary.quarantine_file = quarantine.path if quarantine.used else None
    return summary
