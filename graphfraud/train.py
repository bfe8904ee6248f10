"""`graphfraud train`: export the graph as of a cut-off, train the heterogeneous GNN, save a model version.

Temporal split: the export holds only labels known before the cut-off; each ensemble member holds out its own
fixed-seed, stratified share of the entities for early stopping (cross-fitted: fit.member_splits). Everything learned
later is for evaluation. The model directory is written by the model store (models.py).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from . import distributed
from .config import Settings, hyperparameters
from .db import Graph
from .export import GraphExport, Progress, export_graph
from .features import FeatureStats, model_inputs
from .errors import UsageError
from .fit import (FitResult, MiniBatch, Split, auprc_by_type, calibrate, fit_members, member_splits,
                  out_of_fold_logits, seed_everything)
from .model import FraudGNN, ModelConfig
from .models import new_version, save_model


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict  # validation AUPRC per node type at the best epoch, epochs run, seconds, sizes
    history: list[float] = field(default_factory=list)  # validation AUPRC (mean over node types) per epoch, member by member
    losses: list[float] = field(default_factory=list)  # training loss per epoch, member by member
    primary: bool = True  # False in the other processes of a torchrun launch: rank 0 saved the model and reports


def fit_model(cfg: ModelConfig, settings: Settings, x: dict, edge_index: dict, labels: dict[str, np.ndarray],
              splits: list[Split], inferred: dict[str, np.ndarray] | None = None,
              progress: Progress | None = None) -> tuple[dict, list[FitResult]]:
    """A FraudGNN of `cfg` initialised from the settings' seed and fitted member by member: (its state_dict, the fit
    of each member without its weights). In a process group (distributed.py) every process runs this on its share."""
    seed_everything(settings.seed)
    model = FraudGNN(cfg)  # members initialised from the seed, one after another
    fitted = fit_members(model, lambda m: torch.optim.Adam(m.parameters(), lr=settings.lr,
                                                           weight_decay=settings.weight_decay),
                         x, edge_index, labels, splits, settings.epochs, settings.patience, progress,
                         label_input=cfg.label_input, seed=settings.seed,
                         minibatch=MiniBatch(settings.train_batch_size, settings.train_fanout, settings.train_steps)
                         if settings.train_batch_size > 0 else None,
                         reuse_memory=bool(settings.train_reuse_memory), inferred=inferred)
    return model.state_dict(), [dataclasses.replace(r, state={}) for r in fitted]


def train(graph_or_export: Graph | GraphExport, settings: Settings, cutoff: datetime | None = None,
          out_dir: Path | None = None, progress: Progress | None = None, version: str | None = None) -> TrainResult:
    """Export (if given a Graph), train the GNN with early stopping, save <out_dir or models_dir>/<version>/.
    `version` names the directory (default: the UTC training time); an existing one is refused.
    With settings.train_nproc > 1 the fit runs data-parallel in that many new processes; launched by torchrun, this
    process joins torchrun's group instead and only rank 0 saves (distributed.py)."""
    t0 = time.perf_counter()
    nproc = max(1, settings.train_nproc)
    if distributed.join_from_env():
        if nproc > 1:
            raise UsageError(f"launched by torchrun with WORLD_SIZE={distributed.env_world_size()}: --nproc is the "
                             "built-in launcher's; leave it at 1")
    rank = distributed.world()[0]
    if rank != 0:
        progress = None
    export = graph_or_export if isinstance(graph_or_export, GraphExport) else export_graph(
        graph_or_export, cutoff, progress)
    seed_everything(settings.seed)
    stats = FeatureStats.fit(export.features)
    x, edge_index = model_inputs(export, stats)
    # cross-fitted: member k holds out its own share of the labels, so the ensemble trains on all of them and every
    # held-out entity has an out-of-fold score to calibrate on (fit.member_splits)
    splits = member_splits(export.labels, settings.seed, settings.val_share, settings.ensemble)
    label_input = bool(settings.label_trick)
    cfg = ModelConfig(node_types=list(export.features), edge_types=list(export.data.edge_types),
                      in_dims={t: x[t].shape[1] + label_input for t in x}, hidden=settings.hidden,
                      layers=settings.layers, dropout=settings.dropout, label_input=label_input,
                      members=settings.ensemble)
    t1 = time.perf_counter()
    if nproc > 1:
        if progress:
            progress("train", 0, None, f"data-parallel on {nproc} processes")
        state, fitted = distributed.run_local(nproc, fit_model, cfg, settings, x, edge_index, export.labels, splits,
                                              export.inferred, progress=progress)
    else:
        state, fitted = fit_model(cfg, settings, x, edge_index, export.labels, splits, export.inferred, progress)
    model = FraudGNN(cfg)
    model.load_state_dict(state)
    oof, held = out_of_fold_logits(model, x, edge_index, export.labels, splits, label_input, export.inferred)
    platt = calibrate(model, oof, export.labels, held)

    root = Path(out_dir) if out_dir is not None else settings.models_dir
    path = root / distributed.broadcast(version or (new_version(root) if rank == 0 else None))
    metrics = {
        "val_auprc": auprc_by_type(oof, export.labels, held),  # out-of-fold: each member on what it held out
        "best_epoch": [r.best_epoch for r in fitted], "epochs_run": sum(len(r.history) for r in fitted),
        "export_seconds": round(t1 - t0, 2), "train_seconds": round(time.perf_counter() - t1, 2),
        "processes": max(nproc, distributed.world()[1]),
        "nodes": {t: len(export.ids[t]) for t in export.ids},
        "edges": {"/".join(et): int(export.data[et].edge_index.shape[1]) for et in export.data.edge_types},
        "labelled_fraud": {t: int((export.labels[t] == 1).sum()) for t in export.labels},
        "platt": platt,
    }
    if rank != 0:  # a torchrun process other than rank 0: the same weights, saved once by rank 0
        return TrainResult(version=path.name, path=path, metrics=metrics, primary=False)
    save_model(path, model, stats, {t: export.features[t].columns for t in export.features}, export.cutoff,
               export.fingerprint, hyperparameters(settings), metrics)
    return TrainResult(version=path.name, path=path, metrics=metrics, history=[v for r in fitted for v in r.history],
                       losses=[v for r in fitted for v in r.losses])
