"""Train the heterogeneous GNN on an export of the graph and save a versioned model directory.

Temporal split: the export holds only labels known before the cut-off; a fixed-seed, stratified share of the
entities is held out for early stopping on validation AUPRC. Positive-unlabelled learning: known fraud (1) against
every other entity (confirmed legit or unknown). Everything learned later is for evaluation.
Model directory (settings.models_dir/<version>/): weights.safetensors, config.json (schema, hyper-parameters,
cut-off, fingerprint), feature_stats.json, metrics.json.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.metrics import average_precision_score

from .config import Settings
from .db import Graph
from .errors import GraphfraudError
from .export import GraphExport, Progress, export_graph
from .features import FeatureStats
from .model import FraudGNN, ModelConfig

FORMAT_VERSION = 1
MIN_VAL_POSITIVES = 3  # a node type counts in the validation AUPRC only with this many held-out positives
MAX_POS_WEIGHT = 100.0


@dataclass
class Split:
    """Per node type: indices of the entities used to fit (train) and to stop early (val); together, all of them."""

    train: dict[str, np.ndarray]
    val: dict[str, np.ndarray]


@dataclass
class FitResult:
    state: dict  # state_dict of the best epoch
    best_epoch: int
    val_auprc: dict[str, float]  # per node type at the best epoch
    history: list[float]  # mean validation AUPRC per epoch
    losses: list[float]  # training loss per epoch


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict  # validation AUPRC per node type at the best epoch, epochs run, seconds, sizes
    history: list[float] = field(default_factory=list)  # validation AUPRC (mean over node types) per epoch
    losses: list[float] = field(default_factory=list)  # training loss per epoch


def split_labels(labels: dict[str, np.ndarray], seed: int, val_share: float) -> Split:
    """Random split of every entity of each node type, stratified by known fraud (1) vs the rest (0 or unknown,
    both negatives in positive-unlabelled training)."""
    rng = np.random.default_rng(seed)
    train, val = {}, {}
    for t, y in labels.items():
        tr, va = [], []
        for fraud in (False, True):
            idx = np.flatnonzero((y == 1) == fraud)
            idx = idx[rng.permutation(len(idx))]
            n_val = int(round(len(idx) * val_share))
            va.append(idx[:n_val])
            tr.append(idx[n_val:])
        train[t], val[t] = np.sort(np.concatenate(tr)), np.sort(np.concatenate(va))
    return Split(train, val)


def inputs(export: GraphExport, stats: FeatureStats) -> tuple[dict[str, torch.Tensor], dict]:
    """Model inputs: normalised features per node type (with `stats`) and edge indices per edge type."""
    x = {t: torch.from_numpy(stats.transform(t, export.features[t])) for t in export.features}
    edge_index = {et: export.data[et].edge_index for et in export.data.edge_types}
    return x, edge_index


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def bce_loss(logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], idx: dict[str, torch.Tensor],
             pos_weight: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over node types of class-weighted binary cross-entropy on the entities in `idx`."""
    total = torch.zeros(())
    for t, i in idx.items():
        if t in pos_weight and len(i):
            total = total + torch.nn.functional.binary_cross_entropy_with_logits(
                logits[t][i], labels[t][i], pos_weight=pos_weight[t])
    return total


@torch.no_grad()
def val_auprc(model: torch.nn.Module, x: dict, edge_index: dict, labels: dict[str, np.ndarray],
              idx: dict[str, np.ndarray]) -> dict[str, float]:
    """AUPRC per node type on the held-out entities (types with too few positives are left out)."""
    model.eval()
    logits = model(x, edge_index)
    out = {}
    for t, i in idx.items():
        y = labels[t][i] == 1
        if y.sum() >= MIN_VAL_POSITIVES and (y == 0).any():
            out[t] = float(average_precision_score(y, logits[t][i].numpy()))  # known fraud vs the rest
    return out


def fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: dict, edge_index: dict,
        labels: dict[str, np.ndarray], split: Split, epochs: int, patience: int,
        progress: Progress | None = None) -> FitResult:
    """Full-batch training with early stopping on mean validation AUPRC; the best epoch's weights are kept."""
    y = {t: torch.from_numpy((v == 1).astype(np.float32)) for t, v in labels.items()}
    idx = {t: torch.from_numpy(i) for t, i in split.train.items()}
    pos_weight = {}
    for t, i in split.train.items():
        n_pos = int((labels[t][i] == 1).sum())
        if n_pos:  # a node type with no known fraud has nothing to learn from
            pos_weight[t] = torch.tensor(min(MAX_POS_WEIGHT, (len(i) - n_pos) / n_pos))
    if not pos_weight:
        raise GraphfraudError("no entity is labelled fraud before the cut-off: no chargebacks known yet; "
                              "choose a later --cutoff or load chargebacks")
    best_score, best_epoch, best_state, best_val = -1.0, 0, copy.deepcopy(model.state_dict()), {}
    history: list[float] = []
    losses: list[float] = []
    for epoch in range(1, epochs + 1):
        model.train()
        optimizer.zero_grad()
        loss = bce_loss(model(x, edge_index), y, idx, pos_weight)
        loss.backward()
        optimizer.step()
        val = val_auprc(model, x, edge_index, labels, split.val)
        score = float(np.mean(list(val.values()))) if val else -float(loss.detach())
        history.append(score)
        losses.append(float(loss.detach()))
        if score > best_score:
            best_score, best_epoch, best_state, best_val = score, epoch, copy.deepcopy(model.state_dict()), val
        if progress:
            progress("epoch", epoch, epochs, f"loss {float(loss.detach()):.4f}  val AUPRC {score:.4f}")
        if epoch - best_epoch >= patience:
            break
    return FitResult(best_state, best_epoch, best_val, history, losses)


def new_version(root: Path) -> str:
    """A sortable, unique version name: UTC time of training (plus a counter if taken)."""
    base = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def train(graph_or_export: Graph | GraphExport, settings: Settings, cutoff: datetime | None = None,
          out_dir: Path | None = None, progress: Progress | None = None, version: str | None = None) -> TrainResult:
    """Export (if given a Graph), train the GNN with early stopping, save <out_dir or models_dir>/<version>/.
    `version` names the directory (default: the UTC training time); an existing one is refused."""
    t0 = time.perf_counter()
    export = graph_or_export if isinstance(graph_or_export, GraphExport) else export_graph(
        graph_or_export, cutoff, progress)
    seed_everything(settings.seed)
    stats = FeatureStats.fit(export.features)
    x, edge_index = inputs(export, stats)
    split = split_labels(export.labels, settings.seed, settings.val_share)
    cfg = ModelConfig(node_types=list(export.features), edge_types=list(export.data.edge_types),
                      in_dims={t: x[t].shape[1] for t in x}, hidden=settings.hidden, layers=settings.layers,
                      dropout=settings.dropout)
    model = FraudGNN(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    t1 = time.perf_counter()
    fitted = fit(model, optimizer, x, edge_index, export.labels, split, settings.epochs, settings.patience, progress)
    model.load_state_dict(fitted.state)

    root = Path(out_dir) if out_dir is not None else settings.models_dir
    version = version or new_version(root)
    path = root / version
    if path.exists():
        raise GraphfraudError(f"model directory {path} already exists: choose another version or --out")
    path.mkdir(parents=True)
    metrics = {
        "val_auprc": fitted.val_auprc, "best_epoch": fitted.best_epoch, "epochs_run": len(fitted.history),
        "export_seconds": round(t1 - t0, 2), "train_seconds": round(time.perf_counter() - t1, 2),
        "nodes": {t: len(export.ids[t]) for t in export.ids},
        "edges": {"/".join(et): int(export.data[et].edge_index.shape[1]) for et in export.data.edge_types},
        "labelled_fraud": {t: int((export.labels[t] == 1).sum()) for t in export.labels},
    }
    save_model(path, model, cfg, stats, export, settings, version, metrics)
    return TrainResult(version=version, path=path, metrics=metrics, history=fitted.history, losses=fitted.losses)


def save_model(path: Path, model: FraudGNN, cfg: ModelConfig, stats: FeatureStats, export: GraphExport,
               settings: Settings, version: str, metrics: dict) -> None:
    """Write weights (safetensors), config, feature statistics and metrics into the model directory."""
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "weights.safetensors"))
    config = {
        "format_version": FORMAT_VERSION, "version": version, "created_at": datetime.now(timezone.utc).isoformat(),
        "model": cfg.to_json(), "feature_names": {t: export.features[t].columns for t in export.features},
        "cutoff": export.cutoff.isoformat(), "fingerprint": export.fingerprint,
        "hyper": {"hidden": settings.hidden, "layers": settings.layers, "dropout": settings.dropout,
                  "propagate_alpha": settings.propagate_alpha,
                  "lr": settings.lr, "weight_decay": settings.weight_decay, "epochs": settings.epochs,
                  "patience": settings.patience, "seed": settings.seed, "val_share": settings.val_share},
    }
    (path / "config.json").write_text(json.dumps(config, indent=2))
    (path / "feature_stats.json").write_text(json.dumps(stats.to_json()))
    (path / "metrics.json").write_text(json.dumps(metrics, indent=2))
