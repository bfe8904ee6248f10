"""Baselines scored in the same harness and on the same split as the GNN.

rules      entities in connected components of cards linked by shared devices/IPs (networkx); score = the
           component's number of cards when it reaches `min_cards`, else 0 (merchants: share of their cards
           in such components).
xgb_graph  gradient-boosted trees on the node features plus neighbour-aggregated features (GADBench's XGBGraph):
           per incoming edge type the mean and max of the neighbours' features (1 hop) and the mean of the
           neighbours' 1-hop means (2 hops).
mlp        the GNN's own architecture with zero message-passing layers: the node features only, no graph.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch
import xgboost as xgb
from torch_geometric.utils import scatter

from .config import Settings
from .export import GraphExport
from .features import FeatureStats, model_inputs
from .fit import Split, fit_members, seed_everything
from .model import FraudGNN, ModelConfig
from .registry import CARD, MERCHANT, binding_types


def rule_scores(export: GraphExport, min_cards: int = 3) -> dict[str, np.ndarray]:
    """Connected components of cards linked through binding entities (devices, IPs, e-mails ...); entities in
    components of >= min_cards cards score."""
    g = nx.Graph()
    binding = [t for t in binding_types() if t in export.ids]
    for t in (CARD, *binding):
        g.add_nodes_from((t, i) for i in range(len(export.ids[t])))
    for (s, _, d), e in export.edges.items():
        if s != CARD or d not in binding:
            continue
        g.add_edges_from(zip(((s, int(i)) for i in e["src"].to_numpy()), ((d, int(j)) for j in e["dst"].to_numpy())))
    scores = {t: np.zeros(len(export.ids[t]), dtype=np.float32) for t in export.ids}
    for comp in nx.connected_components(g):
        n_cards = sum(1 for t, _ in comp if t == "card")
        if n_cards >= min_cards:
            for t, i in comp:
                scores[t][i] = n_cards
    pays = export.edges[(CARD, "pays", MERCHANT)]
    flagged = (scores[CARD][pays["src"].to_numpy()] > 0).astype(np.float32)
    n = np.bincount(pays["dst"].to_numpy(), minlength=len(export.ids[MERCHANT]))
    hit = np.bincount(pays["dst"].to_numpy(), weights=flagged, minlength=len(export.ids[MERCHANT]))
    scores[MERCHANT] = (hit / np.maximum(n, 1)).astype(np.float32)
    return scores


def neighbour_features(x: dict[str, torch.Tensor], edge_index: dict) -> dict[str, np.ndarray]:
    """[own features, per incoming edge type: mean and max of neighbours (1 hop), mean of their 1-hop means]."""
    hop1_mean: dict[str, list[torch.Tensor]] = {t: [] for t in x}
    hop1_max: dict[str, list[torch.Tensor]] = {t: [] for t in x}
    for (s, _, d), ei in edge_index.items():
        n = x[d].shape[0]
        hop1_mean[d].append(scatter(x[s][ei[0]], ei[1], dim=0, dim_size=n, reduce="mean"))
        hop1_max[d].append(scatter(x[s][ei[0]], ei[1], dim=0, dim_size=n, reduce="max"))
    mean1 = {t: torch.cat(v, dim=1) for t, v in hop1_mean.items()}
    hop2 = {t: [] for t in x}
    for (s, _, d), ei in edge_index.items():
        hop2[d].append(scatter(mean1[s][ei[0]], ei[1], dim=0, dim_size=x[d].shape[0], reduce="mean"))
    return {t: torch.cat([x[t], mean1[t], *hop1_max[t], *hop2[t]], dim=1).numpy() for t in x}


def xgb_graph_scores(export: GraphExport, stats: FeatureStats, split: Split, seed: int,
                     n_threads: int = 2) -> dict[str, np.ndarray]:
    """XGBGraph per node type, early-stopped on the validation split; types without known fraud score 0."""
    x, edge_index = model_inputs(export, stats)
    feats = neighbour_features(x, edge_index)
    scores = {}
    for t, f in feats.items():
        y = (export.labels[t] == 1).astype(np.float32)
        tr, va = split.train[t], split.val[t]
        n_pos = int(y[tr].sum())
        if n_pos == 0:
            scores[t] = np.zeros(len(f), dtype=np.float32)
            continue
        has_val = y[va].sum() > 0 and len(va) > 0
        clf = xgb.XGBClassifier(n_estimators=400, max_depth=6, learning_rate=0.05, subsample=0.8,
                                colsample_bytree=0.8, scale_pos_weight=(len(tr) - n_pos) / n_pos,
                                eval_metric="aucpr", early_stopping_rounds=40 if has_val else None,
                                random_state=seed, n_jobs=n_threads, tree_method="hist")
        clf.fit(f[tr], y[tr], eval_set=[(f[va], y[va])] if has_val else None, verbose=False)
        scores[t] = clf.predict_proba(f)[:, 1].astype(np.float32)
    return scores


def mlp_scores(export: GraphExport, stats: FeatureStats, split: Split, settings: Settings) -> dict[str, np.ndarray]:
    """The GNN's encoder/decoder with no message passing, trained by the same loop on the same split (an ensemble
    of the same size as the GNN's)."""
    seed_everything(settings.seed)
    x, _ = model_inputs(export, stats)
    cfg = ModelConfig(node_types=list(x), edge_types=[], in_dims={t: v.shape[1] for t, v in x.items()},
                      hidden=settings.hidden, layers=0, dropout=settings.dropout, members=settings.ensemble)
    model = FraudGNN(cfg)
    fit_members(model, lambda m: torch.optim.Adam(m.parameters(), lr=settings.lr, weight_decay=settings.weight_decay),
                x, {}, export.labels, split, settings.epochs, settings.patience, seed=settings.seed,
                reuse_memory=bool(settings.train_reuse_memory))
    model.eval()
    with torch.no_grad():
        return {t: torch.sigmoid(v).numpy() for t, v in model(x, {}).items()}
