"""The neighbour sampler (graphfraud/sampler.py): pure, no database. Tiny graphs with exact answers, and a random
one for the invariants: every sampled edge exists, every seed's neighbourhood is complete up to the fan-out, and a
batch never exceeds the bound set by its size and the fan-outs."""

from __future__ import annotations

import numpy as np
import torch

from graphfraud.sampler import NeighborSampler, batch_bound

CD = ("card", "uses", "device")
DC = ("device", "rev_uses", "card")


def tiny():
    """Cards 0-4, devices 0-2: device 0 has cards 0, 1, 2; device 1 has card 3; device 2 has cards 3, 4."""
    cd = torch.tensor([[0, 1, 2, 3, 3, 4], [0, 0, 0, 1, 2, 2]])
    return {CD: cd, DC: cd.flip(0)}, {"card": 5, "device": 3}


def global_edges(batch, et):
    ei = batch.edge_index[et].numpy()
    return {(int(batch.nodes[et[0]][s]), int(batch.nodes[et[2]][d])) for s, d in ei.T}


def test_fanout_caps_each_node_and_keeps_all_when_fewer():
    edges, n = tiny()
    b = NeighborSampler(edges, n, fanouts=[2], seed=1).sample({"device": np.array([0, 1])})
    got = global_edges(b, CD)
    into0 = {c for c, d in got if d == 0}
    assert len(into0) == 2 and into0 <= {0, 1, 2}  # three cards, fan-out two: two distinct ones
    assert {c for c, d in got if d == 1} == {3}  # one card: kept
    assert b.n_seeds == {"device": 2} and list(b.nodes["device"][:2]) == [0, 1]
    assert global_edges(b, DC) == set()  # one hop: nothing flows into the sampled cards


def test_two_hops_with_large_fanouts_give_the_whole_neighbourhood():
    edges, n = tiny()
    b = NeighborSampler(edges, n, fanouts=[10, 10]).sample({"card": np.array([4])})
    # hop 1: card 4 <- device 2; hop 2: device 2 <- cards 3, 4
    assert global_edges(b, DC) == {(2, 4)}
    assert global_edges(b, CD) == {(3, 2), (4, 2)}
    assert set(b.nodes["card"]) == {3, 4} and set(b.nodes["device"]) == {2}
    assert b.nodes["card"][0] == 4  # the seed first


def test_random_graph_invariants():
    rng = np.random.default_rng(0)
    n = {"card": 2000, "device": 300, "merchant": 50}
    # one edge per pair, as the export aggregates a card's payments at a merchant into one edge
    cd = torch.from_numpy(np.unique(np.stack([rng.integers(0, 2000, 6000), rng.integers(0, 300, 6000)]), axis=1))
    cm = torch.from_numpy(np.unique(np.stack([rng.integers(0, 2000, 9000), rng.integers(0, 50, 9000)]), axis=1))
    edges = {CD: cd, DC: cd.flip(0), ("card", "pays", "merchant"): cm, ("merchant", "rev_pays", "card"): cm.flip(0)}
    fanouts = [5, 3]
    sampler = NeighborSampler(edges, n, fanouts, seed=3)
    seeds = {"card": rng.choice(2000, 64, replace=False), "merchant": np.array([1, 2])}
    b = sampler.sample(seeds)
    truth = {et: set(map(tuple, ei.numpy().T.tolist())) for et, ei in edges.items()}
    for et in edges:
        assert global_edges(b, et) <= truth[et], et  # every sampled edge exists
    for t, ids in seeds.items():  # each seed: min(degree, fan-out) distinct in-neighbours per edge type
        for et in edges:
            if et[2] != t:
                continue
            for s in ids:
                nbrs = {a for a, d in truth[et] if d == s}
                got = {a for a, d in global_edges(b, et) if d == s}
                assert got <= nbrs and len(got) == min(len(nbrs), fanouts[0]), (et, s)
    assert sum(len(v) for v in b.nodes.values()) <= batch_bound(66, fanouts, 2)
    again = NeighborSampler(edges, n, fanouts, seed=3).sample(seeds)
    assert all(np.array_equal(again.nodes[t], b.nodes[t]) for t in n)  # deterministic for a seed


def test_minibatch_training_learns_what_full_batch_learns():
    """Fraud cards are the ones on flagged devices: only one hop of message passing shows it. Mini-batch training
    on sampled neighbourhoods reaches the same validation AUPRC as full-batch training (both near 1), also with a
    budget of two batches per epoch (train_steps)."""
    from graphfraud.fit import MiniBatch, fit, split_labels
    from graphfraud.model import ModelConfig, Scorer

    rng = np.random.default_rng(0)
    n_dev, n_card = 120, 600
    dev_of = rng.integers(0, n_dev, n_card)
    bad = dev_of < 15  # cards on the first 15 devices are fraud
    x = {"card": torch.from_numpy(rng.normal(size=(n_card, 4)).astype(np.float32)),
         "device": torch.from_numpy(rng.normal(size=(n_dev, 4)).astype(np.float32))}
    x["device"][:15, 0] += 4.0  # the devices carry the signal
    cd = torch.from_numpy(np.stack([np.arange(n_card), dev_of]))
    edges = {CD: cd, DC: cd.flip(0)}
    labels = {"card": bad.astype(np.int8), "device": np.zeros(n_dev, np.int8)}
    split = split_labels(labels, seed=0, val_share=0.3)
    cfg = ModelConfig(node_types=["card", "device"], edge_types=list(edges), in_dims={"card": 4, "device": 4},
                      hidden=16, layers=1)
    got = {}
    for name, mb in (("full", None), ("mini", MiniBatch(size=64, fanout=5)),
                     ("budget", MiniBatch(size=64, fanout=5, steps=2))):
        torch.manual_seed(0)
        m = Scorer(cfg)
        r = fit(m, torch.optim.Adam(m.parameters(), lr=0.01), x, edges, labels, split, epochs=40, patience=40,
                seed=0, minibatch=mb)
        got[name] = r.val_auprc["card"]
    assert got["full"] > 0.9 and got["mini"] > 0.9 and got["budget"] > 0.9, got


def test_an_epoch_takes_at_most_train_steps_batches():
    """With a budget, an epoch is that many optimiser steps whatever the number of targets; without, one per batch."""
    from graphfraud.fit import _minibatch_epoch
    from graphfraud.model import ModelConfig, Scorer

    rng = np.random.default_rng(0)
    cd = torch.from_numpy(np.stack([np.arange(300), rng.integers(0, 30, 300)]))
    edges = {CD: cd, DC: cd.flip(0)}
    x = {"card": torch.randn(300, 3), "device": torch.randn(30, 3)}
    y = {"card": (torch.arange(300) % 10 == 0).float(), "device": torch.zeros(30)}
    m = Scorer(ModelConfig(node_types=["card", "device"], edge_types=list(edges), in_dims={"card": 3, "device": 3},
                           hidden=8, layers=1))
    sampler = NeighborSampler(edges, {"card": 300, "device": 30}, [5], seed=0)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    calls = []
    opt.register_step_post_hook(lambda *a: calls.append(1))
    idx = {"card": torch.arange(300)}
    pos_weight = {"card": torch.tensor(1.0)}
    _minibatch_epoch(m, opt, x, sampler, y, idx, pos_weight, 32, rng, steps=3)
    assert len(calls) == 3
    _minibatch_epoch(m, opt, x, sampler, y, idx, pos_weight, 32, rng)
    assert len(calls) == 3 + 10  # 300 targets in batches of 32
