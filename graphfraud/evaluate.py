"""Honest evaluation of the GNN against the baselines, on the same export, split and test entities.

Test entities of a node type: every entity of the export (graph as of the model's cut-off) NOT known as fraud
at the cut-off (label != 1), so no label seen in training is scored. Positives among them: with `truth_dir`, the
generator's ring members (truth/rings.csv) that took part in a ring payment before the cut-off (members whose ring
activity lies wholly after the cut-off are left out: the graph as of the cut-off cannot show it); without it,
entities whose fraud became known after the cut-off (chargebacks/confirmed labels reported later, same labelling
rules as training).
The result is a dict so that later stages can add keys (e.g. "rings") next to "nodes".
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from .baselines import mlp_scores, rule_scores, xgb_graph_scores
from .config import Settings, load_settings
from .db import Graph
from .errors import GraphfraudError
from .export import GraphExport, Progress, export_graph, later_labels
from .features import NODE_TYPES
from .predict import latest_model_dir, load_model, predict
from .train import split_labels

METHODS = ("gnn", "gnn_raw", "xgb_graph", "mlp", "rules")


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


def truth_labels(graph: Graph, truth_dir: Path, export: GraphExport) -> tuple[dict[str, np.ndarray], dict]:
    """Generator truth for the export's entities: (labels, keep masks).

    1: a planted ring member (truth/rings.csv) that took part in a ring payment before the cut-off;
    0: not a ring member; left out (keep False): a ring member whose ring payments all come after the cut-off,
    which the graph as of the cut-off cannot show (it is neither a finding nor a legitimate entity)."""
    base = Path(truth_dir)
    base = base if (base / "rings.csv").exists() else base / "truth"
    if not (base / "rings.csv").exists():
        raise GraphfraudError(f"no rings.csv in {truth_dir} or {truth_dir}/truth: pass the generator's output folder")
    rings = pl.read_csv(base / "rings.csv", schema_overrides={"entity_id": pl.String})
    fraud_files = sorted(base.glob("fraud_transactions.*"))
    if not fraud_files:
        raise GraphfraudError(f"no fraud_transactions.parquet/.csv in {base}")
    f = fraud_files[0]
    fraud = pl.read_parquet(f) if f.suffix == ".parquet" else pl.read_csv(f, schema_overrides={"transaction_id": pl.String})
    active: dict[str, set[str]] = {t: set() for t in NODE_TYPES}
    ids = fraud["transaction_id"].to_list()
    for i in range(0, len(ids), 10_000):
        for row in graph.read("export/transaction_entities", {"ids": ids[i:i + 10_000], "cutoff": export.cutoff}):
            for t in NODE_TYPES:
                if row[t] is not None:
                    active[t].add(row[t])
    labels, keep = {}, {}
    for t in NODE_TYPES:
        members = set(rings.filter(pl.col("entity_type") == t)["entity_id"].to_list())
        is_member = np.fromiter((i in members for i in export.ids[t]), dtype=bool, count=len(export.ids[t]))
        seen = np.fromiter((i in active[t] for i in export.ids[t]), dtype=bool, count=len(export.ids[t]))
        labels[t] = (is_member & seen).astype(np.int8)
        keep[t] = ~is_member | seen
    return labels, keep


def evaluate(graph: Graph, model_dir: Path | None = None, truth_dir: Path | None = None,
             cutoff: datetime | None = None, settings: Settings | None = None,
             progress: Progress | None = None) -> dict:
    """Score the test entities with the GNN and each baseline; {"nodes": node_metrics, "test_entities": ...}."""
    settings = settings or load_settings()
    bundle = load_model(model_dir or latest_model_dir(settings))
    export = export_graph(graph, cutoff or bundle.cutoff, progress)
    # baselines use the model's own seed, validation share and width, on the identical split
    hyper = bundle.hyper
    base = dataclasses.replace(settings, **{k: hyper[k] for k in ("seed", "val_share", "hidden", "lr", "weight_decay",
                                                                  "dropout", "epochs", "patience")})
    split = split_labels(export.labels, base.seed, base.val_share)
    # "gnn" is the model as it scores in production (with prediction propagation); "gnn_raw" is its heads alone
    scores = {"gnn": predict(bundle, export), "gnn_raw": predict(bundle, export, propagate_alpha=0.0)}
    if progress:
        progress("baselines", 0, 3, "xgb_graph")
    scores["xgb_graph"] = xgb_graph_scores(export, bundle.stats, split, base.seed)
    if progress:
        progress("baselines", 1, 3, "mlp")
    scores["mlp"] = mlp_scores(export, bundle.stats, split, base)
    if progress:
        progress("baselines", 2, 3, "rules")
    scores["rules"] = rule_scores(export)
    if truth_dir:
        truth, keep = truth_labels(graph, truth_dir, export)
    else:
        truth, keep = later_labels(graph, export), {t: np.ones(len(export.ids[t]), bool) for t in NODE_TYPES}
    test = {t: (export.labels[t] != 1) & keep[t] for t in NODE_TYPES}
    result = {
        "nodes": node_metrics(scores, {t: (truth[t] == 1) for t in NODE_TYPES}, test),
        "test_entities": {t: {"n": int(test[t].sum()), "positives": int((truth[t][test[t]] == 1).sum())}
                          for t in NODE_TYPES},
        "model": {"version": bundle.version, "path": str(bundle.path), "cutoff": export.cutoff.isoformat(),
                  "truth": str(truth_dir) if truth_dir else "labels known after the cut-off"},
    }
    if truth_dir:  # ring metrics for the GNN and the baselines (graphfraud.ring_eval)
        from .ring_eval import evaluate_rings

        result["rings"] = evaluate_rings(graph, bundle, truth_dir)
    return result
