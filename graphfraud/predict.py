"""Load a saved model directory (refusing one whose schema does not fit) and score every entity of an export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from .config import Settings
from .errors import GraphfraudError
from .export import EDGE_TYPES, GraphExport, all_feature_names
from .features import FeatureStats
from .model import FraudGNN, ModelConfig
from .train import FORMAT_VERSION, inputs


@dataclass
class ModelBundle:
    version: str
    path: Path
    model: FraudGNN  # in eval mode
    config: ModelConfig
    feature_names: dict[str, list[str]]
    stats: FeatureStats  # normalisation statistics of the training export
    cutoff: datetime  # the training cut-off
    fingerprint: str  # of the training graph
    hyper: dict  # hyper-parameters it was trained with (seed, val_share, ...)


def _schema_of(export: GraphExport) -> tuple[dict[str, list[str]], set[tuple[str, str, str]]]:
    return {t: list(df.columns) for t, df in export.features.items()}, set(export.data.edge_types)


def check_schema(bundle: ModelBundle, feature_names: dict[str, list[str]], edge_types: set) -> None:
    """Raise GraphfraudError unless node types, edge types and feature names are exactly the model's."""
    where = f"model {bundle.version} ({bundle.path})"
    if set(feature_names) != set(bundle.feature_names):
        raise GraphfraudError(f"{where} was trained on node types {sorted(bundle.feature_names)}, "
                              f"the graph has {sorted(feature_names)}: retrain with `graphfraud train`")
    if edge_types != set(bundle.config.edge_types):
        raise GraphfraudError(f"{where} was trained on other edge types than the graph has: retrain with "
                              "`graphfraud train`")
    for t, names in bundle.feature_names.items():
        if feature_names[t] != names:
            missing = sorted(set(names) - set(feature_names[t])) or sorted(set(feature_names[t]) - set(names))
            raise GraphfraudError(f"{where} does not match the graph's {t} features (differ: "
                                  f"{', '.join(missing) or 'column order'}): retrain with `graphfraud train`")


def load_model(model_dir: Path, export: GraphExport | None = None) -> ModelBundle:
    """Load weights (safetensors only) and config; refuse a model whose schema differs from this code's export
    schema (or from `export`, when given)."""
    path = Path(model_dir)
    if not (path / "config.json").exists() or not (path / "weights.safetensors").exists():
        raise GraphfraudError(f"{path} is not a graphfraud model directory (config.json, weights.safetensors)")
    config = json.loads((path / "config.json").read_text())
    if config.get("format_version") != FORMAT_VERSION:
        raise GraphfraudError(f"model {path} has format {config.get('format_version')}, this graphfraud reads "
                              f"{FORMAT_VERSION}: retrain with `graphfraud train`")
    cfg = ModelConfig.from_json(config["model"])
    bundle = ModelBundle(
        version=config["version"], path=path, model=FraudGNN(cfg), config=cfg,
        feature_names=config["feature_names"],
        stats=FeatureStats.from_json(json.loads((path / "feature_stats.json").read_text())),
        cutoff=datetime.fromisoformat(config["cutoff"]), fingerprint=config["fingerprint"], hyper=config["hyper"])
    expected_edges = set(EDGE_TYPES) | {(d, f"rev_{r}", s) for (s, r, d) in EDGE_TYPES}
    if export is not None:
        check_schema(bundle, *_schema_of(export))
    else:
        check_schema(bundle, all_feature_names(), expected_edges)
    try:
        bundle.model.load_state_dict(load_file(str(path / "weights.safetensors")))
    except (RuntimeError, OSError) as e:
        raise GraphfraudError(f"weights of model {path} do not fit its config: {str(e).splitlines()[0]}") from None
    bundle.model.eval()
    return bundle


@torch.no_grad()
def predict(bundle: ModelBundle, export: GraphExport, propagate_alpha: float | None = None) -> dict[str, np.ndarray]:
    """Fraud probability per node type and index, features normalised with the training statistics, followed by
    one step of prediction propagation (`propagate`; alpha from the model's settings unless given, 0 = off)."""
    check_schema(bundle, *_schema_of(export))
    x, edge_index = inputs(export, bundle.stats)
    bundle.model.eval()
    scores = {t: torch.sigmoid(logit).numpy().astype(np.float32) for t, logit in bundle.model(x, edge_index).items()}
    alpha = _alpha(bundle) if propagate_alpha is None else propagate_alpha
    return propagate(export, scores, alpha) if alpha > 0 else scores


def _alpha(bundle: ModelBundle) -> float:
    return float(bundle.hyper.get("propagate_alpha", 0.75))  # models saved before the setting used 0.75


def predict_heads_and_scores(bundle: ModelBundle, export: GraphExport) -> tuple[dict[str, np.ndarray],
                                                                                 dict[str, np.ndarray]]:
    """(heads, scores): the model's per-type outputs, and the risk scores after propagation. Ring detection reads
    the heads, since it spreads risk along ring structure itself; the risk scores written back are `scores`."""
    heads = predict(bundle, export, propagate_alpha=0.0)
    alpha = _alpha(bundle)
    return heads, (propagate(export, heads, alpha) if alpha > 0 else heads)


def propagate(export: GraphExport, scores: dict[str, np.ndarray], alpha: float) -> dict[str, np.ndarray]:
    """Prediction propagation over the graph: the "smooth" step of Correct & Smooth (Huang et al., ICLR 2021),
    adapted to this heterogeneous graph.

    Each entity's score moves toward the highest score among its neighbours of each non-card type:
    s'_t = (1 - alpha) * s_t + alpha * mean over relations r of (max over r-neighbours u of s_u).
    A card thus inherits the risk of its riskiest device, IP and merchant; an IP that of its riskiest device and
    back. Cards are never a source: their head learns from chargebacks only, the sparsest and latest labels, while
    the device/IP/merchant heads see many cards each. Merchants (linked to cards only) keep their own score.
    """
    pulls: dict[str, list[np.ndarray]] = {t: [] for t in scores}
    for (s, _, d), frame in export.edges.items():
        src, dst = frame["src"].to_numpy(), frame["dst"].to_numpy()
        for me, my_idx, other, other_idx in ((s, src, d, dst), (d, dst, s, src)):
            if other == "card" or me not in scores:
                continue
            best = np.zeros(len(export.ids[me]), np.float32)  # no neighbour of that type: pulls toward 0
            np.maximum.at(best, my_idx, scores[other][other_idx])
            pulls[me].append(best)
    return {t: ((1 - alpha) * v + alpha * np.mean(pulls[t], axis=0)).astype(np.float32) if pulls[t] else v
            for t, v in scores.items()}


def latest_model_dir(settings: Settings) -> Path:
    """The newest model version under settings.models_dir (versions sort by training time)."""
    root = settings.models_dir
    versions = sorted(p for p in root.glob("*") if (p / "config.json").exists()) if root.exists() else []
    if not versions:
        raise GraphfraudError(f"no trained model under {root}: run `graphfraud train` first")
    return versions[-1]
