"""The training loop shared by the GNN and the MLP baseline: stratified validation splits (one per ensemble member,
cross-fitted), class-weighted BCE, full-batch (or sampled mini-batch) training with early stopping on validation AUPRC,
and Platt calibration on out-of-fold scores. Pure: no database, no files.

Positive-unlabelled learning: known fraud (1) against every other entity (confirmed legit or unknown).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from . import distributed, heap
from .errors import GraphfraudError
from .features import inferred_mask, with_known_fraud
from .model import adjacency
from .sampler import NeighborSampler

Progress = Callable[[str, int, "int | None", str], None]  # (stage, done, total or None, note)

MIN_VAL_POSITIVES = 3  # a node type counts in the validation AUPRC only with this many held-out positives
MAX_POS_WEIGHT = 100.0
SHOW_SHARE = 0.5  # label trick: share of the training entities whose label is an input (the rest are targets)


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


def split_labels(labels: dict[str, np.ndarray], seed: int, val_share: float) -> Split:
    """Random split of every entity of each node type, stratified by known fraud (1) vs the rest (0 or unknown,
    both negatives in positive-unlabelled training)."""
    return member_splits(labels, seed, val_share, 1)[0]


def member_splits(labels: dict[str, np.ndarray], seed: int, val_share: float, members: int) -> list[Split]:
    """One split per ensemble member, cross-fitted: the entities of each node type are shuffled once (stratified by
    known fraud) and cut into round(1 / val_share) folds of val_share each; member k holds out fold k (folds wrap
    when members outnumber them). Each member still trains on 1 - val_share of the labels, but the ensemble sees
    every label, and each held-out entity has an out-of-fold score for calibration (calibrate). Member 0's split
    is split_labels'."""
    rng = np.random.default_rng(seed)
    n_folds = max(1, round(1 / val_share)) if val_share > 0 else 1
    folds: dict[str, list[list[np.ndarray]]] = {}
    for t, y in labels.items():
        folds[t] = [[] for _ in range(n_folds)]
        for fraud in (False, True):
            idx = np.flatnonzero((y == 1) == fraud)
            idx = idx[rng.permutation(len(idx))]
            n_val = int(round(len(idx) * val_share))
            for f in range(n_folds):  # a remainder past the last fold is held out by no member
                folds[t][f].append(idx[f * n_val:(f + 1) * n_val])
        folds[t] = [np.sort(np.concatenate(v)) for v in folds[t]]
    splits = []
    for k in range(max(1, members)):
        val = {t: f[k % n_folds] for t, f in folds.items()}
        train = {t: np.setdiff1d(np.arange(len(labels[t])), val[t], assume_unique=True) for t in labels}
        splits.append(Split(train, val))
    return splits


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def bce_loss(logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], idx: dict[str, torch.Tensor],
             pos_weight: dict[str, torch.Tensor], weight: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Sum over node types of class-weighted binary cross-entropy on the entities in `idx`, each entity's term times
    its `weight` (label_weights; default 1). With no such entity (a sampled batch of unlabelled types only) it is
    a zero still connected to the logits, so backward() works and a data-parallel step stays in step with the other
    processes."""
    total = sum((v.sum() * 0.0 for v in logits.values()), torch.zeros(()))
    for t, i in idx.items():
        if t in pos_weight and len(i):
            total = total + torch.nn.functional.binary_cross_entropy_with_logits(
                logits[t][i], labels[t][i], pos_weight=pos_weight[t],
                weight=None if weight is None else weight[t][i])
    return total


def label_weights(labels: dict[str, np.ndarray], pos_weight: dict[str, torch.Tensor],
                  inferred: dict[str, np.ndarray] | None = None) -> dict[str, torch.Tensor]:
    """Per entity, the weight of its loss term (times pos_weight for a positive, in bce_loss).

    A confirmed negative (label 0: an analyst's legit verdict on the entity, a legit file label) counts as much as a
    known positive (pos_weight); an unlabelled entity (-1), a negative only by default in positive-unlabelled
    training and sometimes fraud nobody reported, counts 1. Without this a legit verdict taught the model nothing: 0
    and -1 were the same target. A ring judged legit labels none of its members (export.confirmed_as_of): it is a
    verdict on the ring, and when most raised rings are fraud a legit one is as likely an analyst's error, which
    weighted like this would teach a fraud ring's members as legit.

    For the same reason a positive only `inferred` from a ring judged fraud (export.GraphExport.inferred) counts 1
    in all, like an unlabelled entity, not pos_weight like a confirmed one: the verdict was on the ring, which may
    have swept in bystanders, and at full weight each such household card taught the model that its neighbours are
    fraud."""
    out = {}
    for t, v in labels.items():
        pw = float(pos_weight[t]) if t in pos_weight else 1.0
        w = np.where(v == 0, pw, 1.0)
        if inferred is not None and t in inferred:
            w = np.where(inferred[t] & (v == 1), 1.0 / pw, w)
        out[t] = torch.from_numpy(w.astype(np.float32))
    return out


@torch.no_grad()
def val_auprc(model: torch.nn.Module, x: dict, edge_index: dict, labels: dict[str, np.ndarray],
              idx: dict[str, np.ndarray]) -> dict[str, float]:
    """AUPRC per node type on the held-out entities (types with too few positives are left out)."""
    model.eval()
    logits = model(x, edge_index)
    return auprc_by_type({t: logits[t][i].numpy() for t, i in idx.items()}, labels, idx)


@dataclass
class MiniBatch:
    """Mini-batch training: `size` seed entities per step, each with up to `fanout` sampled in-neighbours per edge
    type and hop (sampler.NeighborSampler). Memory per step is bounded by these, not by the graph. An epoch is at
    most `steps` batches of freshly shuffled targets (0: one pass over all of them), so an epoch's cost does not grow
    with the graph either."""

    size: int
    fanout: int
    steps: int = 0


def _step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: dict, edge_index: dict, y: dict,
          idx: dict[str, torch.Tensor], pos_weight: dict, weight: dict | None = None) -> float:
    """One optimiser step on the targets `idx` of the graph (x, edge_index); returns the loss."""
    model.train()
    optimizer.zero_grad()
    loss = bce_loss(model(x, edge_index), y, idx, pos_weight, weight)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _minibatch_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: dict, sampler: NeighborSampler,
                     y: dict, idx: dict[str, torch.Tensor], pos_weight: dict, size: int,
                     rng: np.random.Generator, steps: int = 0, weight: dict | None = None) -> float:
    """One pass over the targets `idx` in shuffled batches of `size` seeds (the first `steps` batches only, when
    steps > 0), each on its sampled neighbourhood; returns the mean loss."""
    pairs = [(t, int(i)) for t, v in idx.items() for i in v.tolist()]
    order = rng.permutation(len(pairs))[distributed.shard(len(pairs))]  # this process's share (all of it alone)
    losses = []
    starts = range(0, len(order), size)
    for start in starts[:steps] if steps > 0 else starts:
        seeds: dict[str, list[int]] = {}
        for j in order[start:start + size]:
            seeds.setdefault(pairs[j][0], []).append(pairs[j][1])
        b = sampler.sample({t: np.array(v) for t, v in seeds.items()})
        xb = {t: x[t][torch.from_numpy(b.nodes[t])] for t in x}
        yb = {t: y[t][torch.from_numpy(b.nodes[t])] for t in y}
        wb = None if weight is None else {t: weight[t][torch.from_numpy(b.nodes[t])] for t in weight}
        local = {t: torch.arange(b.n_seeds.get(t, 0)) for t in x}
        losses.append(_step(model, optimizer, xb, b.edge_index, yb, local, pos_weight, wb))
    return float(np.mean(losses)) if losses else 0.0


def fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: dict, edge_index: dict,
        labels: dict[str, np.ndarray], split: Split, epochs: int, patience: int,
        progress: Progress | None = None, label_input: bool = False, seed: int = 0,
        minibatch: MiniBatch | None = None, inferred: dict[str, np.ndarray] | None = None) -> FitResult:
    """Training with early stopping on mean validation AUPRC; the best epoch's weights are kept. Full-batch (one
    step per epoch on the whole graph), or with `minibatch` one pass over the targets in sampled batches.

    With `label_input` (the label trick), each epoch shows a fresh random SHOW_SHARE of the training entities' labels
    as an input column and trains on the others only; validation shows every training label and none of the
    held-out ones, as scoring later shows every label known at the time. Positives `inferred` from a ring verdict
    are trained on at a lower weight (label_weights) and never shown."""
    y = {t: torch.from_numpy((v == 1).astype(np.float32)) for t, v in labels.items()}
    pos_weight = {}
    for t, i in split.train.items():
        n_pos = int((labels[t][i] == 1).sum())
        if n_pos:  # a node type with no known fraud has nothing to learn from
            # sqrt of the class ratio: enough weight for rare fraud, scores still roughly calibrated probabilities
            pos_weight[t] = torch.tensor(min(MAX_POS_WEIGHT, ((len(i) - n_pos) / n_pos) ** 0.5))
    if not pos_weight:
        raise GraphfraudError("no entity is labelled fraud before the cut-off: no chargebacks known yet; "
                              "choose a later --cutoff or load chargebacks")
    weight = label_weights(labels, pos_weight, inferred)
    rng = np.random.default_rng(seed)
    in_train = {t: np.isin(np.arange(len(v)), split.train[t]) for t, v in labels.items()}
    showable = {t: m & ~inferred_mask(inferred, t, len(m)) for t, m in in_train.items()}
    x_val = with_known_fraud(x, labels, showable) if label_input else x
    best_score, best_epoch, best_state, best_val = -float("inf"), 0, copy.deepcopy(model.state_dict()), {}
    history: list[float] = []
    losses: list[float] = []
    rank, size = distributed.world()
    # in a process group each process trains on its share of the targets and DDP averages the gradients; a node type
    # without targets on one process leaves its decoder unused there, hence find_unused_parameters
    net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if size > 1 else model
    sampler = None
    if minibatch is not None:
        hops = len(model.encoder.convs)  # a Scorer: one sampled hop per message-passing layer
        sampler = NeighborSampler(edge_index, {t: v.shape[0] for t, v in x.items()}, [minibatch.fanout] * hops,
                                  seed=seed + rank)
    edge_index = adjacency(edge_index, {t: v.shape[0] for t, v in x.items()})  # converted once, not every epoch
    for epoch in range(1, epochs + 1):
        if label_input:
            shown = {t: showable[t] & (rng.random(len(m)) < SHOW_SHARE) for t, m in in_train.items()}
            x_epoch = with_known_fraud(x, labels, shown)
            idx = {t: torch.from_numpy(np.flatnonzero(in_train[t] & ~shown[t])) for t in in_train}
        else:
            x_epoch, idx = x, {t: torch.from_numpy(i) for t, i in split.train.items()}
        if sampler is None:
            loss = _step(net, optimizer, x_epoch, edge_index, y, {t: i[rank::size] for t, i in idx.items()},
                         pos_weight, weight)
        else:
            loss = _minibatch_epoch(net, optimizer, x_epoch, sampler, y, idx, pos_weight, minibatch.size, rng,
                                    minibatch.steps, weight)
        val = val_auprc(model, x_val, edge_index, labels, split.val)
        score = float(np.mean(list(val.values()))) if val else -loss
        history.append(score)
        losses.append(loss)
        if score > best_score:
            best_score, best_epoch, best_state, best_val = score, epoch, copy.deepcopy(model.state_dict()), val
        if progress:
            progress("epoch", epoch, epochs, f"loss {loss:.4f}  val AUPRC {score:.4f}")
        if epoch - best_epoch >= patience:
            break
    return FitResult(best_state, best_epoch, best_val, history, losses)


def fit_members(model: torch.nn.Module, make_optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer],
                x: dict, edge_index: dict, labels: dict[str, np.ndarray], split: Split | list[Split], epochs: int,
                patience: int, progress: Progress | None = None, label_input: bool = False, seed: int = 0,
                minibatch: MiniBatch | None = None, reuse_memory: bool = True,
                inferred: dict[str, np.ndarray] | None = None) -> list[FitResult]:
    """Fit each member of a seed ensemble (model.members) on its own: member k from seed + k, with its own optimiser
    and early stopping, on `split` (held out from the whole ensemble) or on its own of a list of splits (member k on
    split k: member_splits). The best weights are loaded into each member. With `reuse_memory` freed tensors' memory
    is kept for the next epoch while fitting (heap.reuse_freed_memory): the same arithmetic, faster on big graphs."""
    splits = split if isinstance(split, list) else [split]
    results = []
    n = len(model.members)
    if minibatch is None:  # full-batch: the sparse adjacency once for every member (the sampler wants [2, E] indices)
        edge_index = adjacency(edge_index, {t: v.shape[0] for t, v in x.items()})
    with heap.reuse_freed_memory(reuse_memory):
        for k, member in enumerate(model.members):
            seed_everything(seed + k)
            note = (lambda stage, done, total, text, k=k: progress(stage, done, total, f"model {k + 1}/{n}  {text}")
                    ) if progress and n > 1 else progress
            r = fit(member, make_optimizer(member), x, edge_index, labels, splits[k % len(splits)], epochs, patience,
                    note, label_input=label_input, seed=seed + k, minibatch=minibatch, inferred=inferred)
            member.load_state_dict(r.state)
            results.append(r)
            heap.release_free_memory()  # the next member starts from live memory, not this one's fragmented peak
    return results


def platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of the logistic fit P(y = 1) = sigmoid(a * logit + b): Platt scaling."""
    lr = LogisticRegression(C=1e4).fit(np.asarray(logits, np.float64).reshape(-1, 1), np.asarray(y, bool))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


@torch.no_grad()
def out_of_fold_logits(model: torch.nn.Module, x: dict, edge_index: dict, labels: dict[str, np.ndarray],
                       splits: list[Split], label_input: bool, inferred: dict[str, np.ndarray] | None = None
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each member's logits on the entities it held out, computed as its validation saw them (its training labels
    shown when `label_input`): ({type: logits}, {type: indices}) over the union of the members' held-out folds. An
    entity held out by several members (folds wrap) gets the mean of their logits. Only node types whose every fold
    holds MIN_VAL_POSITIVES known frauds are scored (each member could validate on them; with fewer, one member's
    logits would stand for the ensemble's, and the type stays uncalibrated as with a single split)."""
    model.eval()
    edge_index = adjacency(edge_index, {t: v.shape[0] for t, v in x.items()})
    used = splits[:len(model.members)]
    types = [t for t in labels if all((labels[t][s.val[t]] == 1).sum() >= MIN_VAL_POSITIVES for s in used)]
    total = {t: np.zeros(len(labels[t]), np.float64) for t in types}
    count = {t: np.zeros(len(labels[t]), np.int64) for t in types}
    for k, member in enumerate(model.members):
        s = splits[k % len(splits)]
        shown = {t: np.isin(np.arange(len(v)), s.train[t]) & ~inferred_mask(inferred, t, len(v))
                 for t, v in labels.items()}
        logits = member(with_known_fraud(x, labels, shown) if label_input else x, edge_index)
        for t in types:
            i = s.val[t]
            total[t][i] += logits[t][i].numpy()
            count[t][i] += 1
    idx = {t: np.flatnonzero(c) for t, c in count.items()}
    return {t: total[t][i] / count[t][i] for t, i in idx.items()}, idx


def auprc_by_type(logits: dict[str, np.ndarray], labels: dict[str, np.ndarray],
                  idx: dict[str, np.ndarray]) -> dict[str, float]:
    """AUPRC of known fraud (against the rest) per node type over the entities `idx`, logits aligned with idx; types
    with fewer than MIN_VAL_POSITIVES positives are left out."""
    out = {}
    for t, i in idx.items():
        y = labels[t][i] == 1
        if y.sum() >= MIN_VAL_POSITIVES and (y == 0).any():
            out[t] = float(average_precision_score(y, logits[t]))
    return out


@torch.no_grad()
def calibrate(model: torch.nn.Module, logits: dict[str, np.ndarray], labels: dict[str, np.ndarray],
              idx: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Platt scaling of known fraud on the logit, per node type on held-out entities `idx` (their `logits`, aligned
    with idx: out_of_fold_logits), stored in the model's platt_<type> buffers. Class weights in training inflate the
    raw probabilities by a different amount in every graph; calibrated, a score means the same share of known fraud
    everywhere, so thresholds downstream (the ring step, risk bands) transfer between graphs. Types with too few
    held-out positives stay uncalibrated."""
    out = {}
    for t, i in idx.items():
        y = labels[t][i] == 1
        if y.sum() < MIN_VAL_POSITIVES or y.all():
            continue
        a, b = platt(logits[t], y)
        getattr(model, f"platt_{t}").copy_(torch.tensor([a, b]))
        out[t] = [round(a, 4), round(b, 4)]
    return out
