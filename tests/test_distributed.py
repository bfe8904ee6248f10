"""Data-parallel training (distributed.py): processes share the targets without overlap, keep identical weights,
report a failing process, and `train --nproc 2` / torchrun train a model that `score` loads, on the real Neo4j."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from graphfraud import distributed
from graphfraud.errors import GraphfraudError
from graphfraud.fit import MiniBatch, bce_loss, fit, label_weights, split_labels
from graphfraud.generate import generate
from graphfraud.model import ModelConfig, Scorer

from conftest import CLI, cli


def _gather(value):
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def _shares(n: int) -> list:
    """Every rank's share of n items, as rank 0 sees them."""
    return _gather((distributed.world(), list(range(n))[distributed.shard(n)]))


def _fails_on(rank: int) -> None:
    if distributed.world()[0] == rank:
        raise ValueError("boom")
    dist.barrier()  # the others wait here until the parent stops them


def _tiny():
    """A fixed random graph of 40 cards and 10 devices, every 5th card fraud, and an untrained Scorer on it."""
    g = torch.Generator().manual_seed(0)
    x = {"card": torch.randn(40, 3, generator=g), "device": torch.randn(10, 3, generator=g)}
    src, dst = torch.arange(40), torch.arange(40) % 10
    edge_index = {("card", "uses", "device"): torch.stack([src, dst]),
                  ("device", "rev_uses", "card"): torch.stack([dst, src])}
    labels = {"card": (np.arange(40) % 5 == 0).astype(np.int8), "device": np.zeros(10, np.int8)}
    torch.manual_seed(1)
    model = Scorer(ModelConfig(["card", "device"], list(edge_index), {"card": 3, "device": 3}, hidden=8, dropout=0.0))
    return model, x, edge_index, labels, split_labels(labels, 0, 0.25)


def _fit_tiny(minibatch: MiniBatch | None = None) -> list:
    """Fit the tiny Scorer for 5 epochs; every rank's (final weights, first-epoch loss, optimiser steps taken), as
    rank 0 sees them."""
    model, x, edge_index, labels, split = _tiny()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    r = fit(model, opt, x, edge_index, labels, split, epochs=5, patience=10, minibatch=minibatch)
    steps = int(opt.state[next(model.parameters())]["step"])
    return _gather(([p.detach().clone() for p in model.parameters()], r.losses[0], steps))


def _checks() -> dict:
    """Everything the pure tests below look at, from one group of two processes (each process start imports torch
    and PyG: one group instead of three keeps the suite short)."""
    return {"shares": _shares(7), "full_batch": _fit_tiny(), "mini_batch": _fit_tiny(MiniBatch(size=8, fanout=3))}


@pytest.fixture(scope="module")
def checks() -> dict:
    return distributed.run_local(2, _checks)


def test_processes_take_disjoint_equal_shares(checks):
    assert checks["shares"] == [((0, 2), [0, 2, 4]), ((1, 2), [1, 3, 5])]  # the 7th item waits for the next shuffle
    assert distributed.world() == (0, 1) and list(range(7))[distributed.shard(7)] == list(range(7))  # alone: all


def test_a_failing_process_fails_the_run_with_its_error():
    with pytest.raises(GraphfraudError, match="process 1: ValueError: boom"):
        distributed.run_local(2, _fails_on, 1)


def test_ddp_trains_each_process_on_its_share_and_keeps_them_on_the_same_weights(checks):
    (w0, loss0, steps), (w1, loss1, _) = checks["full_batch"]
    assert all(torch.equal(a, b) for a, b in zip(w0, w1)) and steps == 5  # full-batch: one step per epoch
    model, x, edge_index, labels, split = _tiny()
    assert not all(torch.equal(a, b) for a, b in zip(w0, model.parameters()))  # and they trained
    # the first epoch's loss (untrained weights) is each process's loss on its half of the training cards
    train = split.train["card"]
    pos_weight = {"card": torch.tensor((((labels["card"][train] == 0).sum()) / (labels["card"][train] == 1).sum()) ** 0.5)}
    y = {t: torch.from_numpy((v == 1).astype(np.float32)) for t, v in labels.items()}
    w = label_weights(labels, pos_weight)  # the tiny world's 0s are confirmed negatives: weighted like positives
    with torch.no_grad():
        logits = model(x, edge_index)
        half = [float(bce_loss(logits, y, {"card": torch.from_numpy(train[r::2])}, pos_weight, w)) for r in (0, 1)]
        whole = float(bce_loss(logits, y, {"card": torch.from_numpy(train)}, pos_weight, w))
    assert loss0 == pytest.approx(half[0], rel=1e-5) and loss1 == pytest.approx(half[1], rel=1e-5)
    assert abs(half[0] - whole) > 1e-3


def test_ddp_mini_batches_split_the_targets_into_as_many_steps_on_every_process(checks):
    (w0, _, steps0), (w1, _, steps1) = checks["mini_batch"]
    assert all(torch.equal(a, b) for a, b in zip(w0, w1))
    # 38 training entities (30 cards, 8 devices): 19 per process, in batches of 8: 3 steps per epoch, 5 epochs
    assert steps0 == steps1 == 15


def test_train_nproc_and_torchrun_save_one_model_that_scores(clean_graph, tmp_path):
    world = tmp_path / "world"
    generate(world, transactions=3000, days=30, seed=3)
    p = cli("build-graph", str(world), "--json")
    assert p.returncode == 0, p.stderr[-2000:]

    p = cli("train", "--nproc", "2", "--epochs", "4", "--out", str(tmp_path / "m2"), "--json", timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    t = json.loads(p.stdout)
    assert t["processes"] == 2 and t["epochs_run"] == 3 * 4 and [d.name for d in (tmp_path / "m2").iterdir()] == [t["version"]]
    s = cli("score", "--model", t["path"], "--json")
    assert s.returncode == 0, s.stderr[-2000:]
    assert json.loads(s.stdout)["model_version"] == t["version"]

    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun ships with torch, next to this interpreter"
    p = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", *CLI[1:], "train", "--epochs", "4",
                        "--out", str(tmp_path / "tr"), "--json"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    t = json.loads(p.stdout)  # one document: rank 0 reports, rank 1 prints nothing
    assert t["processes"] == 2 and [d.name for d in (tmp_path / "tr").iterdir()] == [t["version"]]
