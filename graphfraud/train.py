"""`graphfraud train`: export the graph as of a cut-off, train the heterogeneous GNN, save a model version.

Temporal split: the export holds only labels known before the cut-off; a fixed-seed, stratified share of the
entities is held out for early stopping (fit.py). Everything learned later is for evaluation. The model directory is
written by the model store (models.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from .config import Settings, hyperparameters
from .db import Graph
from .export import GraphExport, Progress, export_graph
from .features import FeatureStats, model_inputs, with_known_fraud
from .fit import MiniBatch, calibrate, fit_members, seed_everything, split_labels, val_auprc
from .model import FraudGNN, ModelConfig
from .models import new_version, save_model


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict  # validation AUPRC per node type at the best epoch, epochs run, seconds, sizes
    history: list[float] = field(default_factory=list)  # validation AUPRC (mean over node types) per epoch, member by member
    losses: list[float] = field(default_factory=list)  # training loss per epoch, member by member


def train(graph_or_export: Graph | GraphExport, settings: Settings, cutoff: datetime | None = None,
          out_dir: Path | None = None, progress: Progress | None = None, version: str | None = None) -> TrainResult:
    """Export (if given a Graph), train the GNN with early stopping, save <out_dir or models_dir>/<version>/.
    `version` names the directory (default: the UTC training time); an existing one is refused."""
    t0 = time.perf_counter()
    export = graph_or_export if isinstance(graph_or_export, GraphExport) else export_graph(
        graph_or_export, cutoff, progress)
    seed_everything(settings.seed)
    stats = FeatureStats.fit(export.features)
    x, edge_index = model_inputs(export, stats)
    split = split_labels(export.labels, settings.seed, settings.val_share)
    label_input = bool(settings.label_trick)
    cfg = ModelConfig(node_types=list(export.features), edge_types=list(export.data.edge_types),
                      in_dims={t: x[t].shape[1] + label_input for t in x}, hidden=settings.hidden,
                      layers=settings.layers, dropout=settings.dropout, label_input=label_input,
                      members=settings.ensemble)
    model = FraudGNN(cfg)  # members initialised from the seed, one after another
    t1 = time.perf_counter()
    fitted = fit_members(model, lambda m: torch.optim.Adam(m.parameters(), lr=settings.lr,
                                                           weight_decay=settings.weight_decay),
                         x, edge_index, export.labels, split, settings.epochs, settings.patience, progress,
                         label_input=label_input, seed=settings.seed,
                         minibatch=MiniBatch(settings.train_batch_size, settings.train_fanout, settings.train_steps)
                         if settings.train_batch_size > 0 else None)
    shown = {t: np.isin(np.arange(len(v)), split.train[t]) for t, v in export.labels.items()}
    x_val = with_known_fraud(x, export.labels, shown) if label_input else x
    platt = calibrate(model, x_val, edge_index, export.labels, split.val)

    root = Path(out_dir) if out_dir is not None else settings.models_dir
    path = root / (version or new_version(root))
    metrics = {
        "val_auprc": val_auprc(model, x_val, edge_index, export.labels, split.val),  # of the ensemble
        "best_epoch": [r.best_epoch for r in fitted], "epochs_run": sum(len(r.history) for r in fitted),
        "export_seconds": round(t1 - t0, 2), "train_seconds": round(time.perf_counter() - t1, 2),
        "nodes": {t: len(export.ids[t]) for t in export.ids},
        "edges": {"/".join(et): int(export.data[et].edge_index.shape[1]) for et in export.data.edge_types},
        "labelled_fraud": {t: int((export.labels[t] == 1).sum()) for t in export.labels},
        "platt": platt,
    }
    save_model(path, model, stats, {t: export.features[t].columns for t in export.features}, export.cutoff,
               export.fingerprint, hyperparameters(settings), metrics)
    return TrainResult(version=path.name, path=path, metrics=metrics, history=[v for r in fitted for v in r.history],
                       losses=[v for r in fitted for v in r.losses])
