"""Ring metrics against the generator's truth: recall and precision at Jaccard >= 0.5 of member sets,
overall and per ring type, for the GNN rings and three baselines without the GNN."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError
from .ring_baselines import fraudar_rings, labels_only_rings, wcc_rule_rings
from .rings import RING_TYPES, Key, RingConfig, find_rings

MATCH_JACCARD = 0.5  # a detected ring matches a truth ring when their member sets overlap this much


def load_truth(truth_dir: Path | str) -> dict[str, tuple[str, frozenset[Key]]]:
    """Truth rings from DIR/truth/rings.csv (or DIR/rings.csv): ring_id -> (ring_type, member keys)."""
    import polars as pl

    d = Path(truth_dir)
    path = next((p for p in (d / "truth" / "rings.csv", d / "rings.csv") if p.exists()), None)
    if path is None:
        raise UsageError(f"no truth file: expected {d / 'truth' / 'rings.csv'}")
    df = pl.read_csv(path, schema_overrides={"entity_id": pl.Utf8, "ring_id": pl.Utf8})
    missing = {"ring_id", "ring_type", "entity_type", "entity_id"} - set(df.columns)
    if missing:
        raise UsageError(f"{path} lacks columns {sorted(missing)}")
    members: dict[str, set[Key]] = defaultdict(set)
    kinds: dict[str, str] = {}
    for rid, rtype, et, eid in df.select("ring_id", "ring_type", "entity_type", "entity_id").iter_rows():
        members[rid].add((et, eid))
        kinds[rid] = rtype
    return {rid: (kinds[rid], frozenset(m)) for rid, m in members.items()}


def restrict_truth(truth: dict[str, tuple[str, frozenset[Key]]], export: Any) -> dict[str, tuple[str, frozenset[Key]]]:
    """Truth rings cut to the entities the export holds (those after a cut-off cannot be found); empty ones dropped."""
    known = {(t, i) for t, ids in export.ids.items() for i in ids}
    out = {}
    for rid, (kind, keys) in truth.items():
        kept = frozenset(k for k in keys if k in known)
        if kept:
            out[rid] = (kind, kept)
    return out


def match_metrics(detected: list[frozenset[Key]], truth: dict[str, tuple[str, frozenset[Key]]],
                  detected_types: list[str] | None = None, threshold: float = MATCH_JACCARD) -> dict[str, Any]:
    """Recall (truth rings matched by some detected ring), precision (detected rings matching some truth ring),
    F1, and per truth type recall; with detected_types also per detected type precision and type accuracy."""
    index: dict[Key, list[str]] = defaultdict(list)
    for rid, (_, keys) in truth.items():
        for k in keys:
            index[k].append(rid)
    recalled: set[str] = set()
    best_for_detected: list[tuple[str, float] | None] = []
    for ring in detected:
        overlap: dict[str, int] = defaultdict(int)
        for k in ring:
            for rid in index.get(k, ()):
                overlap[rid] += 1
        best = None
        for rid, n in overlap.items():
            jac = n / (len(ring) + len(truth[rid][1]) - n)
            if jac >= threshold:
                recalled.add(rid)
                if best is None or jac > best[1]:
                    best = (rid, jac)
        best_for_detected.append(best)
    n_true, n_det = len(truth), len(detected)
    hits = sum(1 for b in best_for_detected if b is not None)
    recall = len(recalled) / n_true if n_true else 0.0
    precision = hits / n_det if n_det else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_type: dict[str, dict[str, Any]] = {}
    for kind in sorted({k for k, _ in truth.values()} | set(detected_types or [])):
        rids = [rid for rid, (k, _) in truth.items() if k == kind]
        entry: dict[str, Any] = {"n_truth": len(rids),
                                 "recall": round(sum(r in recalled for r in rids) / len(rids), 4) if rids else None}
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


def ring_metrics(export: Any, scores: dict[str, np.ndarray], truth_dir: Path | str,
                 cfg: RingConfig | None = None, chargebacks: Any = None) -> dict[str, Any]:
    """{"gnn": {...}, "wcc_rules": {...}, "fraudar": {...}, "labels_only": {...}} on the same export.

    `chargebacks`: the charged-back transactions known at the training cut-off (labels_only baseline; see
    ring_baselines.labels_only_rings). FraudAR is given the number of truth rings as its number of blocks (an oracle
    choice in its favour)."""
    truth = restrict_truth(load_truth(truth_dir), export)
    if not truth:
        raise UsageError(f"no truth ring of {truth_dir} has a member in the graph")
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    rings = find_rings(export, scores, cfg)
    out["gnn"] = match_metrics([r.keys() for r in rings], truth, [r.type for r in rings])
    out["gnn"]["seconds"] = round(time.perf_counter() - t0, 2)
    for name, fn in (("wcc_rules", lambda: wcc_rule_rings(export)),
                     ("fraudar", lambda: fraudar_rings(export, n_blocks=len(truth))),
                     ("labels_only", lambda: labels_only_rings(export, chargebacks))):
        t0 = time.perf_counter()
        found = fn()
        out[name] = match_metrics(found, truth)
        out[name]["seconds"] = round(time.perf_counter() - t0, 2)
    out["ring_types"] = list(RING_TYPES)
    return out


def evaluate_rings(graph: Any, bundle: Any, truth_dir: Path | str, cfg: RingConfig | None = None) -> dict[str, Any]:
    """Ring metrics as `graphfraud score` would find rings: the whole graph scored by the model `bundle`
    (predict.ModelBundle); the labels_only baseline gets the chargebacks known at the model's cut-off."""
    from datetime import timedelta

    from .export import export_graph, read_chargebacks, time_range
    from .predict import predict_heads_and_scores

    export = export_graph(graph, time_range(graph)[1] + timedelta(milliseconds=1))
    chargebacks = read_chargebacks(graph, bundle.cutoff, bundle.cutoff)
    heads, _ = predict_heads_and_scores(bundle, export)  # rings are found from the heads, as `score` does
    out = ring_metrics(export, heads, truth_dir, cfg, chargebacks=chargebacks)
    out["graph_as_of"] = export.cutoff.isoformat()
    out["labels_known_at"] = bundle.cutoff.isoformat()
    return out
