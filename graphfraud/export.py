"""Export the graph in Neo4j, as of a cut-off time, to a PyTorch Geometric HeteroData with id maps and labels.

Transactions before the cut-off are read window by window, column-wise (cypher/export/transactions), and aggregated
with polars into entity nodes, entity-pair edges and node features. Labels come only from chargebacks and confirmed labels
known before the cut-off (cypher/export/chargebacks, cypher/export/confirmed_labels): nothing at or after the
cut-off leaks in.

Entity labels (1 fraud, 0 confirmed legit, -1 unknown):
  card             1 when one of its transactions was charged back, else -1 (unknown: most fraud is never
                   charged back, so "no chargeback" is not "legit").
  merchant/device/ip  1 when at least 2 of its transactions were charged back and they are >= 10% of its
                   transactions (a popular merchant that received a few camouflage fraud payments is not itself
                   fraudulent), else -1.
  A confirmed label (fraud -> 1, legit -> 0) known before the cut-off always wins.
  A fraud label that comes only from membership of a ring an analyst judged fraud is `inferred`: the verdict was on
  the ring, and a ring can sweep in bystanders (a household sharing a device with it), so training weighs it like an
  unlabelled entity rather than a confirmed one and never shows it as known fraud to the model (fit.py, predict.py).
Training treats unknown as negative (positive-unlabelled learning); evaluation scores only entities not labelled
fraud at the cut-off.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl
import torch
from torch_geometric.data import HeteroData

from .db import Graph
from .errors import GraphfraudError
from .features import node_features
from .registry import ENTITY_NAMES, VICTIM_ROLES, edge_columns

# One column per entity type (registry order; null where a transaction has no such entity), then the facts.
ENTITY_SCHEMA = {t: pl.String for t in ENTITY_NAMES}
TX_SCHEMA = {**ENTITY_SCHEMA, "ts": pl.Int64, "amount": pl.Float64, "declined": pl.Boolean, "ecom": pl.Boolean,
             "country": pl.String}
CB_SCHEMA = {**ENTITY_SCHEMA, "ts": pl.Int64, "chargeback_ms": pl.Int64}
MIN_CHARGEBACKS = 2  # non-card entity: charged-back transactions needed to call it fraud ...
MIN_CHARGEBACK_SHARE = 0.10  # ... and the share of its transactions they must make up
STREAM_CHUNK = 100_000  # transactions per time window of the export (one query, one frame each)

Progress = Callable[[str, int, "int | None", str], None]  # (stage, done, total or None, note)


@dataclass
class GraphExport:
    data: HeteroData  # node counts and forward + reverse edge indices (no features: see to_heterodata)
    ids: dict[str, list[str]]  # node type -> entity ids in index order
    features: dict[str, pl.DataFrame]  # node type -> RAW features, one row per index
    edges: dict[tuple[str, str, str], pl.DataFrame]  # forward types: src, dst, n_tx, amount, n_declined, first_ts, last_ts
    labels: dict[str, np.ndarray]  # node type -> int8: 1 fraud, 0 confirmed legit, -1 unknown (known before cutoff)
    label_times: dict[str, np.ndarray]  # node type -> int64 epoch ms when the label became known, or -1
    cutoff: datetime  # nothing at or after it is in the export
    fingerprint: str  # hash of node ids, edges and feature schema
    # node type -> bool: fraud (label 1) only as a member of a ring an analyst judged fraud, with no evidence of its
    # own (no chargeback, no verdict or label file on it): entity_labels; training weighs these below confirmed ones
    inferred: dict[str, np.ndarray] = field(default_factory=dict)


def utc(dt: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive input is taken as UTC)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def time_range(graph: Graph) -> tuple[datetime, datetime, int]:
    """First and last transaction time in the graph and the number of transactions."""
    row = graph.read("export/time_range")[0]
    if not row["n"]:
        raise GraphfraudError("the graph holds no transactions: load some with `graphfraud build-graph` first")
    return utc(row["first"].to_native()), utc(row["last"].to_native()), int(row["n"])


def default_cutoff(graph: Graph, test_share: float = 0.2) -> datetime:
    """Midnight UTC at 80% of the transaction time span: the last 20% is a later period the model never sees."""
    first, last, _ = time_range(graph)
    t = first + (last - first) * (1.0 - test_share)
    return t.replace(hour=0, minute=0, second=0, microsecond=0) + (timedelta(days=1) if t.hour >= 12 else timedelta())


FAR_PAST = datetime(1, 1, 1, tzinfo=timezone.utc)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


def windows(graph: Graph, cutoff: datetime) -> list[dict[str, datetime]]:
    """Half-open time windows {"from", "to"} that tile everything before `cutoff` (the first starts at FAR_PAST, the
    last ends at the cut-off, so the tiling holds whatever time_range says), cut so that each holds about
    STREAM_CHUNK transactions when payments are spread evenly in time: the server builds one window's lists in its
    heap, and this process one window's frame."""
    row = graph.read("export/time_range")[0]
    cutoff = utc(cutoff)
    cuts: list[datetime] = []
    if row["n"]:
        first, last = utc(row["first"].to_native()), utc(row["last"].to_native())
        end = min(cutoff, last + timedelta(milliseconds=1))
        if end > first:
            before = row["n"] * min(1.0, (end - first) / max(last - first, timedelta(milliseconds=1)))
            k = max(1, math.ceil(before / STREAM_CHUNK))
            cuts = [first + (end - first) * i / k for i in range(1, k)]
    bounds = [FAR_PAST, *cuts, cutoff]
    return [{"from": a, "to": b} for a, b in zip(bounds, bounds[1:])]


def _prefetched(graph: Graph, name: str, params: list[dict]) -> Iterator[tuple[list[str], dict[str, Any] | None]]:
    """graph.read_row(name, p) for each p in order, the next one already running in a second thread: the server
    builds window k+1's lists while this process turns window k's into a frame (one after the other, each side
    waits for the other about half of the time)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(graph.read_row, name, params[0]) if params else None
        for k in range(len(params)):
            row = pending.result()
            pending = pool.submit(graph.read_row, name, params[k + 1]) if k + 1 < len(params) else None
            yield row


def _read_frame(graph: Graph, name: str, params: dict, cutoff: datetime, schema: dict,
                progress: Progress | None) -> pl.DataFrame:
    """A column-wise export query (`name`) run once per time window before `cutoff`, into one polars frame. Each
    window comes back as ONE record of parallel lists: card, merchant, then link_row / link_type / link_id (one entry
    per link of a transaction to an optional entity), then the schema's other plain columns in schema order. Links
    fill the entity columns a transaction has; the rest stay null. Per-record work in the driver is what made a
    row-per-record stream slow (1M rows: 12 s iterating bare records, 7.5 s for the same rows column-wise)."""
    plain = [c for c in schema if c not in ENTITY_SCHEMA or c in ("card", "merchant")]
    linked = [c for c in schema if c not in plain]
    expected = [*plain[:2], "link_row", "link_type", "link_id", *plain[2:]]
    chunks: list[pl.DataFrame] = []
    n = 0
    for keys, row in _prefetched(graph, name, [{**params, **w} for w in windows(graph, cutoff)]):
        if keys != expected or row is None:
            raise GraphfraudError(f"cypher/{name}.cypher returns {keys}, not one row of the export's columns {expected}")
        frame = pl.DataFrame({c: row[c] for c in plain}, schema={c: schema[c] for c in plain}).with_row_index("_row")
        if row["link_row"] and linked:
            long = pl.DataFrame({"_row": row["link_row"], "t": row["link_type"], "v": row["link_id"]},
                                schema={"_row": pl.UInt32, "t": pl.String, "v": pl.String})
            wide = long.filter(pl.col("t").is_in(linked)).pivot(on="t", index="_row", values="v",
                                                                aggregate_function="first")
            frame = frame.join(wide, on="_row", how="left")
        chunks.append(frame.select(pl.col(c).cast(schema[c]) if c in frame.columns else pl.lit(None, schema[c]).alias(c)
                                   for c in schema))
        n += frame.height
        if progress:
            progress(name, n, None, "rows")
    return pl.concat(chunks, rechunk=True)


def read_transactions(graph: Graph, cutoff: datetime, progress: Progress | None = None) -> pl.DataFrame:
    """Every transaction before `cutoff`, one row each (no chargeback information)."""
    return _read_frame(graph, "export/transactions", {}, cutoff, TX_SCHEMA, progress)


def read_chargebacks(graph: Graph, cutoff: datetime, horizon: datetime) -> pl.DataFrame:
    """Charged-back transactions made before `cutoff` whose chargeback was reported before `horizon`."""
    return _read_frame(graph, "export/chargebacks", {"horizon": utc(horizon)}, cutoff, CB_SCHEMA, None)


LABEL_EVENTS = {"entity_type": pl.String, "entity_id": pl.String, "label": pl.Int8, "labelled_ms": pl.Int64,
                "source": pl.String, "direct": pl.Boolean}


def read_label_events(graph: Graph, horizon: datetime) -> pl.DataFrame:
    """Every confirmed label given before `horizon` (LABEL_EVENTS): labels loaded from files (source "file", one per
    entity, export/confirmed_labels) and every analyst verdict bearing on an entity (source "verdict", direct or
    through a judged ring whose accomplice it was, not a victim listed with it: verdicts/label_events).
    `confirmed_as_of` resolves them into one label per entity."""
    frames = []
    for source, name, params in (("file", "export/confirmed_labels", {}),
                                 ("verdict", "verdicts/label_events", {"victim_roles": list(VICTIM_ROLES)})):
        rows = graph.read(name, {"horizon": utc(horizon), **params})
        frames.append(pl.DataFrame(
            {"entity_type": [r["entity_type"] for r in rows], "entity_id": [r["entity_id"] for r in rows],
             "label": [_is_fraud(r["label"]) for r in rows], "labelled_ms": [r["labelled_ms"] for r in rows],
             "source": [source] * len(rows), "direct": [r.get("direct", True) for r in rows]}, schema=LABEL_EVENTS))
    return pl.concat(frames)


def confirmed_as_of(events: pl.DataFrame, horizon_ms: int) -> pl.DataFrame:
    """One confirmed label per entity from the label events known before `horizon_ms`: the entity's latest verdict
    (a direct one winning a tie; one through a ring judged legit withdraws, labelling nobody), then the later of
    that and its file label, the verdict winning a tie. Events without source/direct columns are file labels.
    `direct` says whether the label was given on the entity itself (a file label, a verdict ON it) or through a ring
    judged fraud."""
    if "source" not in events.columns:
        events = events.with_columns(source=pl.lit("file"), direct=pl.lit(True))
    e = events.filter(pl.col("labelled_ms").fill_null(0) < horizon_ms)
    keys = ["entity_type", "entity_id"]
    verdict = e.filter(pl.col("source") == "verdict").sort(["labelled_ms", "direct"], maintain_order=True).unique(
        keys, keep="last", maintain_order=True).filter(pl.col("direct") | (pl.col("label") == 1))
    both = pl.concat([e.filter(pl.col("source") != "verdict"), verdict])  # files first: a verdict wins a tie
    return both.sort("labelled_ms", nulls_last=False, maintain_order=True).unique(
        keys, keep="last", maintain_order=True)


def read_confirmed(graph: Graph, horizon: datetime) -> pl.DataFrame:
    """Confirmed labels known before `horizon`, one per entity: entity_type, entity_id, label (1/0), labelled_ms,
    source (file | verdict), direct (False: through a ring judged fraud), resolved by `confirmed_as_of`."""
    return confirmed_as_of(read_label_events(graph, horizon), int(utc(horizon).timestamp() * 1000))


def _is_fraud(value: object) -> int:
    """A confirmed label as 1/0: accepts 1/0, true/false and fraud/legit-style strings."""
    if isinstance(value, str):
        return int(value.strip().lower() in {"1", "true", "fraud", "fraudulent", "yes", "confirmed_fraud"})
    return int(bool(value))


def entity_labels(node_type: str, ids: list[str], n_tx: np.ndarray, chargebacks: pl.DataFrame,
                  confirmed: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (int8: 1/0/-1), the epoch ms they became known (or -1), and whether a fraud label is only inferred
    from membership of a ring judged fraud (bool; see GraphExport.inferred), per index, by the module's rules."""
    index = pl.DataFrame({"id": ids, "idx": np.arange(len(ids))}, schema={"id": pl.String, "idx": pl.Int64})
    labels = np.full(len(ids), -1, dtype=np.int8)
    times = np.full(len(ids), -1, dtype=np.int64)
    cb = chargebacks.filter(pl.col(node_type).is_not_null()).sort("chargeback_ms").group_by(node_type).agg(
        n_cb=pl.len(), first_ms=pl.col("chargeback_ms").first(),
        nth_ms=pl.col("chargeback_ms").get(MIN_CHARGEBACKS - 1, null_on_oob=True),  # when the bar was met
    ).join(index, left_on=node_type, right_on="id")
    idx = cb["idx"].to_numpy()
    n_cb = cb["n_cb"].to_numpy()
    if node_type == "card":
        labels[idx] = 1
        times[idx] = cb["first_ms"].to_numpy()
    else:
        fraud = (n_cb >= MIN_CHARGEBACKS) & (n_cb >= MIN_CHARGEBACK_SHARE * n_tx[idx])
        labels[idx[fraud]] = 1
        times[idx[fraud]] = cb["nth_ms"].to_numpy()[fraud]
    conf = confirmed.filter(pl.col("entity_type") == node_type).join(index, left_on="entity_id", right_on="id")
    cidx = conf["idx"].to_numpy()
    charged = labels == 1  # fraud on chargebacks of its own, before any confirmed label overrides it
    labels[cidx] = conf["label"].to_numpy()
    times[cidx] = conf["labelled_ms"].fill_null(-1).to_numpy()
    inferred = np.zeros(len(ids), dtype=bool)
    if "direct" in conf.columns:
        inferred[cidx] = (conf["label"].to_numpy() == 1) & ~conf["direct"].to_numpy()
    return labels, times, inferred & ~charged


def label_sources(labels: dict[str, np.ndarray], ids: dict[str, list[str]],
                  confirmed: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per node type, how many labels each source gave (the labels of an export, and the confirmed labels it was
    built from): analysts' verdicts and label files (confirmed labels, which outrank chargebacks; per entity the
    latest counts) and chargebacks (the fraud labels no confirmed label overrides)."""
    if "source" not in confirmed.columns:
        confirmed = confirmed.with_columns(source=pl.lit("file"))
    out = {}
    for t, y in labels.items():
        conf = confirmed.filter((pl.col("entity_type") == t) & pl.col("entity_id").is_in(ids[t]))
        by = dict(conf.group_by("source").len().iter_rows())
        out[t] = {"chargeback": int((y == 1).sum()) - conf.filter(pl.col("label") == 1).height,
                  "file": int(by.get("file", 0)), "verdict": int(by.get("verdict", 0))}
    return out


def build_export(tx: pl.DataFrame, chargebacks: pl.DataFrame, confirmed: pl.DataFrame,
                 cutoff: datetime) -> GraphExport:
    """Nodes, edges, features and labels from transaction rows (all before `cutoff`): pure, no database."""
    cutoff = utc(cutoff)
    cutoff_ms = int(cutoff.timestamp() * 1000)
    tx, chargebacks = conform(tx, TX_SCHEMA), conform(chargebacks, CB_SCHEMA)
    types = present_types(tx)
    ids = {t: sorted(tx[t].drop_nulls().unique().to_list()) for t in types}
    index = {t: pl.DataFrame({t: ids[t], f"{t}_idx": np.arange(len(ids[t]))},
                             schema={t: pl.String, f"{t}_idx": pl.Int64}) for t in types}
    features = {t: node_features(tx, t, ids[t], cutoff_ms, types) for t in types}

    edges: dict[tuple[str, str, str], pl.DataFrame] = {}
    for et, (a, b) in edge_columns(types).items():
        e = tx.filter(pl.col(a).is_not_null() & pl.col(b).is_not_null()).group_by(a, b).agg(
            n_tx=pl.len(), amount=pl.col("amount").sum(), n_declined=pl.col("declined").sum(),
            first_ts=pl.col("ts").min(), last_ts=pl.col("ts").max())
        e = e.join(index[a], on=a).join(index[b], on=b)
        edges[et] = e.select(src=pl.col(f"{a}_idx"), dst=pl.col(f"{b}_idx"), n_tx="n_tx", amount="amount",
                             n_declined=pl.col("n_declined").cast(pl.Int64), first_ts="first_ts",
                             last_ts="last_ts").sort("src", "dst")

    labels, label_times, inferred = {}, {}, {}
    for t in types:
        labels[t], label_times[t], inferred[t] = entity_labels(t, ids[t], features[t]["n_tx"].to_numpy(),
                                                               chargebacks, confirmed)

    data = to_heterodata(ids, edges)
    return GraphExport(data=data, ids=ids, features=features, edges=edges, labels=labels, label_times=label_times,
                       cutoff=cutoff, fingerprint=fingerprint(ids, edges, features), inferred=inferred)


def conform(data: pl.DataFrame | dict | list, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame with exactly `schema`'s columns and types, from a frame, a dict of columns or a list of row dicts;
    a column it lacks (an entity type the data does not have) is all null."""
    df = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
    return df.select([pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c) for c, t in schema.items()])


def present_types(tx: pl.DataFrame) -> list[str]:
    """The entity types (registry order) that at least one transaction has: the node types of this graph."""
    return [t for t in ENTITY_NAMES if t in tx.columns and tx[t].null_count() < tx.height]


def to_heterodata(ids: dict[str, list[str]], edges: dict[tuple[str, str, str], pl.DataFrame]) -> HeteroData:
    """HeteroData with every node type's size and each forward edge type plus its reverse ('rev_<relation>').
    It holds no features: model inputs are the raw features normalised with the MODEL's statistics
    (features.model_inputs), so nobody can mistake this export's own normalisation for them."""
    data = HeteroData()
    for t in ids:
        data[t].num_nodes = len(ids[t])
    for (s, r, d), e in edges.items():
        ei = torch.from_numpy(np.stack([e["src"].to_numpy(), e["dst"].to_numpy()]).astype(np.int64))  # [2, E]
        data[s, r, d].edge_index = ei
        data[d, f"rev_{r}", s].edge_index = ei.flip(0)
    return data


def fingerprint(ids: dict[str, list[str]], edges: dict[tuple[str, str, str], pl.DataFrame],
                features: dict[str, pl.DataFrame]) -> str:
    """sha256 (first 16 hex) over node ids, edge endpoints and feature names: same graph, same fingerprint."""
    h = hashlib.sha256()
    for t in ids:
        h.update(f"{t}:{len(ids[t])}:{','.join(features[t].columns)}\n".encode())
        for i in ids[t]:
            h.update(i.encode() + b"\0")
    for et, e in edges.items():
        h.update("/".join(et).encode())
        h.update(e["src"].to_numpy().astype(np.int64).tobytes())
        h.update(e["dst"].to_numpy().astype(np.int64).tobytes())
    return h.hexdigest()[:16]


def export_graph(graph: Graph, cutoff: datetime | None = None, progress: Progress | None = None) -> GraphExport:
    """The graph as of `cutoff` (default: `default_cutoff`) as a GraphExport; labels known before `cutoff` only."""
    cutoff = utc(cutoff) if cutoff is not None else default_cutoff(graph)
    tx = read_transactions(graph, cutoff, progress)
    if tx.height == 0:
        raise GraphfraudError(f"no transactions before the cut-off {cutoff.isoformat()}: choose a later --cutoff")
    return build_export(tx, read_chargebacks(graph, cutoff, cutoff), read_confirmed(graph, cutoff), cutoff)



@dataclass
class History:
    """Everything in the graph, read once: transactions, chargebacks (with when they were reported), confirmed labels.
    Exports as of any cut-off are then built from it without touching the database again (`as_of`)."""

    tx: pl.DataFrame  # TX_SCHEMA
    chargebacks: pl.DataFrame  # CB_SCHEMA, every chargeback ever reported
    confirmed: pl.DataFrame  # every confirmed label event (LABEL_EVENTS; confirmed_as_of resolves them at any time)
    end: datetime  # just after the last transaction

    def as_of(self, cutoff: datetime) -> GraphExport:
        """The export as `export_graph(graph, cutoff)` would build it: transactions and labels known before cutoff."""
        ms = int(utc(cutoff).timestamp() * 1000)
        tx = self.tx.filter(pl.col("ts") < ms)
        if tx.height == 0:
            raise GraphfraudError(f"no transactions before the cut-off {utc(cutoff).isoformat()}")
        cb = self.chargebacks.filter((pl.col("ts") < ms) & (pl.col("chargeback_ms") < ms))
        return build_export(tx, cb, confirmed_as_of(self.confirmed, ms), cutoff)

    def later_labels(self, export: GraphExport) -> dict[str, np.ndarray]:
        """Labels of the export's entities by the training rules, from chargebacks and confirmations known at any
        time: fraud done before the export's cut-off and learned later (evaluation without generator truth)."""
        ms = int(export.cutoff.timestamp() * 1000)
        cb = self.chargebacks.filter(pl.col("ts") < ms)
        conf = confirmed_as_of(self.confirmed, int(FAR_FUTURE.timestamp() * 1000))
        return {t: entity_labels(t, export.ids[t], export.features[t]["n_tx"].to_numpy(), cb, conf)[0]
                for t in export.ids}


def read_history(graph: Graph, progress: Progress | None = None) -> History:
    """Read every transaction, chargeback and confirmed label of the graph once."""
    end = time_range(graph)[1] + timedelta(milliseconds=1)
    return History(read_transactions(graph, end, progress), read_chargebacks(graph, end, FAR_FUTURE),
                   read_label_events(graph, FAR_FUTURE), end)


def later_labels(graph: Graph, export: GraphExport, horizon: datetime | None = None) -> dict[str, np.ndarray]:
    """Labels of the export's entities by the same rules, with chargebacks/confirmations known before `horizon`
    (default: ever). For evaluation without generator truth: fraud done before the cut-off, learned later."""
    horizon = utc(horizon) if horizon is not None else FAR_FUTURE
    cb = read_chargebacks(graph, export.cutoff, horizon)
    conf = read_confirmed(graph, horizon)
    return {t: entity_labels(t, export.ids[t], export.features[t]["n_tx"].to_numpy(), cb, conf)[0]
            for t in export.ids}
