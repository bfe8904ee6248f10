"""The generator's answer key, and ring metrics against it: recall and precision at Jaccard >= 0.5 of member sets,
overall and per ring type, for the GNN rings and the baselines without the GNN. Pure: no database."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .errors import UsageError
from .registry import RING_TYPES
from .ring_baselines import fraudar_rings, labels_only_rings, wcc_rule_rings
from .rings import Key, RingConfig, find_rings, jaccard_pairs

MATCH_JACCARD = 0.5  # a detected ring matches a truth ring when their member sets overlap this much
Truth = dict[str, tuple[str, frozenset[Key]]]  # ring_id -> (ring_type, member keys)


def truth_dir_of(path: Path | str) -> Path:
    """The folder holding rings.csv: DIR/truth (a generator output folder) or DIR itself."""
    d = Path(path)
    for cand in (d / "truth", d):
        if (cand / "rings.csv").exists():
            return cand
    raise UsageError(f"no truth file: expected {d / 'truth' / 'rings.csv'} (pass the generator's output folder)")


def load_truth(path: Path | str) -> Truth:
    """Truth rings from DIR/truth/rings.csv (or DIR/rings.csv): ring_id -> (ring_type, member keys)."""
    f = truth_dir_of(path) / "rings.csv"
    df = pl.read_csv(f, schema_overrides={"entity_id": pl.Utf8, "ring_id": pl.Utf8})
    missing = {"ring_id", "ring_type", "entity_type", "entity_id"} - set(df.columns)
    if missing:
        raise UsageError(f"{f} lacks columns {sorted(missing)}")
    members: dict[str, set[Key]] = defaultdict(set)
    kinds: dict[str, str] = {}
    for rid, rtype, et, eid in df.select("ring_id", "ring_type", "entity_type", "entity_id").iter_rows():
        members[rid].add((et, eid))
        kinds[rid] = rtype
    return {rid: (kinds[rid], frozenset(m)) for rid, m in members.items()}


def load_fraud_transactions(path: Path | str) -> list[str]:
    """Ids of the planted fraud transactions (truth/fraud_transactions.parquet or .csv)."""
    base = truth_dir_of(path)
    files = sorted(base.glob("fraud_transactions.*"))
    if not files:
        raise UsageError(f"no fraud_transactions.parquet/.csv in {base}")
    f = files[0]
    df = pl.read_parquet(f) if f.suffix == ".parquet" else pl.read_csv(f, schema_overrides={"transaction_id": pl.String})
    return df["transaction_id"].to_list()


def restrict_truth(truth: Truth, export: Any) -> Truth:
    """Truth rings cut to the entities the export holds (those after a cut-off cannot be found); empty ones dropped."""
    known = {(t, i) for t, ids in export.ids.items() for i in ids}
    out = {}
    for rid, (kind, keys) in truth.items():
        kept = frozenset(k for k in keys if k in known)
        if kept:
            out[rid] = (kind, kept)
    return out


def match_metrics(detected: list[frozenset[Key]], truth: Truth, detected_types: list[str] | None = None,
                  threshold: float = MATCH_JACCARD) -> dict[str, Any]:
    """Recall (truth rings matched by some detected ring), precision (detected rings matching some truth ring),
    F1, and per truth type recall; with detected_types also per detected type precision and type accuracy."""
    rids = list(truth)
    recalled: set[str] = set()
    best_for_detected: list[tuple[str, float] | None] = [None] * len(detected)
    for i, j, jac in jaccard_pairs(detected, [truth[r][1] for r in rids], threshold):
        recalled.add(rids[j])
        b = best_for_detected[i]
        if b is None or jac > b[1]:
            best_for_detected[i] = (rids[j], jac)
    n_true, n_det = len(truth), len(detected)
    hits = sum(1 for b in best_for_detected if b is not None)
    recall = len(recalled) / n_true if n_true else 0.0
    precision = hits / n_det if n_det else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_type: dict[str, dict[str, Any]] = {}
    for kind in sorted({k for k, _ in truth.values()} | set(detected_types or [])):
        of_kind = [rid for rid, (k, _) in truth.items() if k == kind]
        entry: dict[str, Any] = {"n_truth": len(of_kind),
                                 "recall": round(sum(r in recalled for r in of_kind) / len(of_kind), 4)
                                 if of_kind else None}
        if detected_types is not None:
            mine = [b for b, t in zip(best_for_detected, detected_types) if t == kind]
            entry["n_detected"] = len(mine)
            entry["precision"] = round(sum(b is not None for b in mine) / len(mine), 4) if mine else None
        by_type[kind] = entry
    out: dict[str, Any] = {"recall": round(recall, 4), "precision": round(precision, 4), "f1": round(f1, 4),
                           "n_truth": n_true, "n_detected": n_det, "by_type": by_type}
    jacs = [b[1] for b in best_for_detected if b is not None]
    out["mean_jaccard_matched"] = round(float(np.mean(jacs)), 4) if jacs else 0.0
    if detected_types is not None:
        right = [truth[b[0]][0] == t for b, t in zip(best_for_detected, detected_types) if b is not None]
        out["type_accuracy"] = round(sum(right) / len(right), 4) if right else 0.0
    return out


def ring_metrics(export: Any, scores: dict[str, np.ndarray], truth: Truth, cfg: RingConfig | None = None,
                 chargebacks: Any = None) -> dict[str, Any]:
    """{"gnn": {...}, "wcc_rules": {...}, "fraudar": {...}, "labels_only": {...}} on the same export.

    `chargebacks`: the charged-back transactions known at the training cut-off (labels_only baseline). FraudAR is
    given the number of truth rings as its number of blocks (an oracle choice in its favour)."""
    truth = restrict_truth(truth, export)
    if not truth:
        raise UsageError("no truth ring has a member in the graph")
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    rings = find_rings(export, scores, cfg)
    out["gnn"] = match_metrics([r.keys() for r in rings], truth, [r.type for r in rings])
    out["gnn"]["seconds"] = round(time.perf_counter() - t0, 2)
    for name, fn in (("wcc_rules", lambda: wcc_rule_rings(export)),
                     ("fraudar", lambda: fraudar_rings(export, n_blocks=len(truth))),
                     ("labels_only", lambda: labels_only_rings(export, chargebacks))):
        t0 = time.perf_counter()
        out[name] = match_metrics(fn(), truth)
        out[name]["seconds"] = round(time.perf_counter() - t0, 2)
    out["ring_types"] = list(RING_TYPES)
    return out
