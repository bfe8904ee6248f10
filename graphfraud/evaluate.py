"""Honest evaluation of the GNN against the baselines, on the same export, split and test entities.

The graph is read once (export.History); the export as of the model's cut-off is built from it for node metrics,
and the export of the whole graph (as `graphfraud score` sees it) for ring metrics.
Test entities of a node type: every entity of the export as of the cut-off NOT known as fraud at the cut-off
(label != 1), so no label seen in training is scored. Positives among them: with `truth_dir`, the generator's ring
members (truth/rings.csv) that took part in a ring payment before the cut-off (members whose ring activity lies
wholly after the cut-off are left out: the graph as of the cut-off cannot show it); without it, entities whose fraud
became known after the cut-off (chargebacks/confirmed labels reported later, same labelling rules as training).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from .baselines import mlp_scores, rule_scores, xgb_graph_scores
from .config import Settings, load_settings
from .db import Graph
from .export import GraphExport, Progress, confirmed_as_of, label_sources, read_history
from .fit import split_labels
from .models import fit_warnings, latest_model_dir, load_model
from .predict import predict_heads_and_scores
from .rings import RingConfig, find_rings, ring_risk
from .ring_eval import Truth, load_fraud_transactions, load_truth, ring_metrics

TRUTH_BATCH = 10_000  # fraud transaction ids per lookup of their entities


def recall_at_precision(y: np.ndarray, score: np.ndarray, precision: float = 0.9) -> float:
    """The highest recall reachable at a threshold whose precision is at least `precision`."""
    p, r, _ = precision_recall_curve(y, score)
    ok = p >= precision
    return float(r[ok].max()) if ok.any() else 0.0


def node_metrics(scores: dict[str, dict[str, np.ndarray]], truth: dict[str, np.ndarray],
                 test: dict[str, np.ndarray]) -> dict[str, dict[str, dict[str, float] | None]]:
    """{node type: {method: {auprc, auroc, recall_at_p90}}} on the test entities (boolean masks in `test`).
    A node type whose test entities hold no positive or no negative gets None per method."""
    out: dict[str, dict] = {}
    for t in truth:
        y = truth[t][test[t]].astype(int)
        defined = 0 < y.sum() < len(y)
        out[t] = {}
        for method, per_type in scores.items():
            s = per_type[t][test[t]]
            out[t][method] = {
                "auprc": round(float(average_precision_score(y, s)), 4),
                "auroc": round(float(roc_auc_score(y, s)), 4),
                "recall_at_p90": round(recall_at_precision(y, s), 4),
            } if defined else None
    return out


def truth_labels(graph: Graph, truth: Truth, fraud_ids: list[str],
                 export: GraphExport) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Generator truth for the export's entities: (labels, keep masks).

    1: a planted ring member that took part in a ring payment before the cut-off; 0: not a ring member; left out
    (keep False): a ring member whose ring payments all come after the cut-off, which the graph as of the cut-off
    cannot show (it is neither a finding nor a legitimate entity)."""
    active: set[tuple[str, str]] = set()
    for i in range(0, len(fraud_ids), TRUTH_BATCH):
        for row in graph.read("export/transaction_entities", {"ids": fraud_ids[i:i + TRUTH_BATCH],
                                                              "cutoff": export.cutoff}):
            active.add((row["entity_type"], row["entity_id"]))
    members = {k for _, keys in truth.values() for k in keys}
    labels, keep = {}, {}
    for t, ids in export.ids.items():
        is_member = np.fromiter(((t, i) in members for i in ids), dtype=bool, count=len(ids))
        seen = np.fromiter(((t, i) in active for i in ids), dtype=bool, count=len(ids))
        labels[t] = (is_member & seen).astype(np.int8)
        keep[t] = ~is_member | seen
    return labels, keep


def evaluate(graph: Graph, model_dir: Path | None = None, truth_dir: Path | None = None,
             cutoff: datetime | None = None, settings: Settings | None = None,
             progress: Progress | None = None) -> dict:
    """Score the test entities with the GNN and each baseline; with `truth_dir`, also the rings. Returns
    {"nodes": node_metrics, "test_entities": ..., "model": ..., "rings": ... (with truth)}."""
    settings = settings or load_settings()
    bundle = load_model(model_dir or latest_model_dir(settings.models_dir))
    history = read_history(graph, progress)
    export = history.as_of(cutoff or bundle.cutoff)
    # baselines use the model's own hyper-parameters (seed, validation share, width ...), on the identical split
    base = dataclasses.replace(settings, **bundle.hyper)
    split = split_labels(export.labels, base.seed, base.val_share)
    # "gnn" is the risk score as `score` writes it at the cut-off: the heads, prediction propagation, then ring members
    # raised toward their ring's score (rings found at the cut-off); "gnn_no_rings" stops before the rings and
    # "gnn_raw" is the heads alone
    heads, propagated = predict_heads_and_scores(bundle, export)
    ring_cfg = RingConfig()
    scores = {"gnn": ring_risk(export, propagated, find_rings(export, heads, ring_cfg), ring_cfg),
              "gnn_no_rings": propagated, "gnn_raw": heads}
    for i, (name, fn) in enumerate((("xgb_graph", lambda: xgb_graph_scores(export, bundle.stats, split, base.seed)),
                                    ("mlp", lambda: mlp_scores(export, bundle.stats, split, base)),
                                    ("rules", lambda: rule_scores(export)))):
        if progress:
            progress("baselines", i, 3, name)
        scores[name] = fn()
    truth = load_truth(truth_dir) if truth_dir else None
    if truth is not None:
        labels, keep = truth_labels(graph, truth, load_fraud_transactions(truth_dir), export)
    else:
        labels, keep = history.later_labels(export), {t: np.ones(len(ids), bool) for t, ids in export.ids.items()}
    test = {t: (export.labels[t] != 1) & keep[t] for t in export.ids}
    first = datetime.fromtimestamp(int(history.tx["ts"].min()) / 1000, tz=timezone.utc)
    result = {
        "warnings": fit_warnings(bundle, first, history.end),
        "nodes": node_metrics(scores, {t: labels[t] == 1 for t in export.ids}, test),
        "test_entities": {t: {"n": int(test[t].sum()), "positives": int((labels[t][test[t]] == 1).sum())}
                          for t in export.ids},
        # the labels known at the cut-off (what training saw), by where they came from
        "labels_by_source": label_sources(export.labels, export.ids, confirmed_as_of(
            history.confirmed, int(export.cutoff.timestamp() * 1000))),
        "model": {"version": bundle.version, "path": str(bundle.path), "cutoff": export.cutoff.isoformat(),
                  "truth": str(truth_dir) if truth_dir else "labels known after the cut-off"},
    }
    if truth is not None:  # rings as `graphfraud score` finds them: the whole graph, rings from the model's heads
        whole = history.as_of(history.end)
        heads, _ = predict_heads_and_scores(bundle, whole)
        chargebacks = history.chargebacks.filter(history.chargebacks["chargeback_ms"]
                                                 < int(bundle.cutoff.timestamp() * 1000))
        rings = ring_metrics(whole, heads, truth, chargebacks=chargebacks)
        rings["graph_as_of"] = whole.cutoff.isoformat()
        rings["labels_known_at"] = bundle.cutoff.isoformat()
        result["rings"] = rings
    return result
