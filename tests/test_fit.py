"""The training loop's pure parts: the label trick's input column, the splits and Platt calibration (no database)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphfraud.features import with_known_fraud
from graphfraud.fit import (bce_loss, calibrate, member_splits, label_weights, out_of_fold_logits, platt,
                            split_labels)
from graphfraud.model import FraudGNN, ModelConfig


def test_known_fraud_column_shows_only_known_and_shown_fraud():
    x = {"card": torch.zeros((4, 2)), "device": torch.ones((2, 2))}
    labels = {"card": np.array([1, 0, -1, 1], np.int8), "device": np.array([-1, 1], np.int8)}
    every = with_known_fraud(x, labels)
    assert every["card"][:, -1].tolist() == [1.0, 0.0, 0.0, 1.0] and every["device"][:, -1].tolist() == [0.0, 1.0]
    assert every["card"].shape == (4, 3) and torch.equal(every["device"][:, :2], x["device"])
    shown = {"card": np.array([True, True, True, False]), "device": np.array([False, False])}
    part = with_known_fraud(x, labels, shown)
    assert part["card"][:, -1].tolist() == [1.0, 0.0, 0.0, 0.0] and part["device"][:, -1].tolist() == [0.0, 0.0]


def test_platt_recovers_a_known_map():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 20_000)
    y = rng.random(len(z)) < 1 / (1 + np.exp(-(2 * z - 1)))
    a, b = platt(z, y)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-1.0, abs=0.1)


def test_calibrate_sets_the_models_buffers():
    """On a real (untrained) model: the card buffer becomes platt() of its held-out logits and probabilities() applies
    it; IPs with too few held-out positives stay the identity."""
    torch.manual_seed(0)
    cfg = ModelConfig(node_types=["card", "ip"], edge_types=[], in_dims={"card": 3, "ip": 3}, hidden=8, layers=0)
    model = FraudGNN(cfg)
    x = {"card": torch.randn(500, 3) * 3, "ip": torch.randn(50, 3)}
    model.eval()  # no dropout: the logits calibrate() sees
    z = model(x, {})["card"].detach().numpy()
    y = (z > np.median(z)).astype(np.int8)
    y[:20] = 1 - y[:20]  # not separable: a finite fit
    held = np.arange(0, 500, 2)
    out = calibrate(model, {"card": z[held], "ip": np.zeros(50)}, {"card": y, "ip": np.zeros(50, np.int8)},
                    {"card": held, "ip": np.arange(50)})
    a, b = platt(z[held], y[held] == 1)
    assert set(out) == {"card"} and model.platt_card.tolist() == pytest.approx([a, b], rel=1e-5)
    assert model.platt_ip.tolist() == [1.0, 0.0]
    p = model.probabilities(model(x, {}))["card"]
    assert torch.allclose(p, torch.sigmoid(a * torch.from_numpy(z) + b), atol=1e-5)


def test_member_splits_hold_out_disjoint_folds():
    """Cross-fitting: 3 members at val_share 0.2 hold out 3 of 5 disjoint, stratified folds; member 0's split is
    split_labels'; every member trains on the rest; folds wrap past the fifth member."""
    labels = {"card": np.array([1] * 10 + [0] * 80 + [-1] * 10, np.int8), "ip": np.zeros(7, np.int8)}
    splits = member_splits(labels, 7, 0.2, 6)
    one = split_labels(labels, 7, 0.2)
    assert np.array_equal(splits[0].val["card"], one.val["card"]) and np.array_equal(splits[0].train["card"], one.train["card"])
    vals = [set(s.val["card"].tolist()) for s in splits[:5]]
    assert all(len(v) == 20 for v in vals) and len(set().union(*vals)) == 100  # disjoint, all covered
    assert all(sum(labels["card"][i] == 1 for i in v) == 2 for v in vals)  # stratified: 2 of the 10 frauds each
    for s in splits:
        assert sorted(np.concatenate([s.train["card"], s.val["card"]]).tolist()) == list(range(100))
    assert np.array_equal(splits[5].val["card"], splits[0].val["card"])  # the sixth member wraps to fold 0
    assert len(splits[1].val["ip"]) == 1 and len(member_splits(labels, 7, 0.2, 1)) == 1


def test_out_of_fold_logits_are_each_members_own():
    """Each held-out entity's logit is the member's that held it out, with that member's training labels shown
    (the label trick's column), never the ensemble's; entities no member held out are left out."""
    torch.manual_seed(0)
    cfg = ModelConfig(node_types=["card"], edge_types=[], in_dims={"card": 4}, hidden=8, layers=0, members=2,
                      label_input=True)
    model = FraudGNN(cfg)
    model.eval()
    x = {"card": torch.randn(50, 3)}
    labels = {"card": np.array([1, 0] * 25, np.int8)}
    splits = member_splits(labels, 3, 0.2, 2)
    logits, idx = out_of_fold_logits(model, x, {}, labels, splits, label_input=True)
    assert sorted(idx["card"].tolist()) == sorted(splits[0].val["card"].tolist() + splits[1].val["card"].tolist())
    for k in (0, 1):
        shown = {"card": np.isin(np.arange(50), splits[k].train["card"])}
        own = model.members[k](with_known_fraud(x, labels, shown), {})["card"].detach().numpy()
        at = np.searchsorted(idx["card"], splits[k].val["card"])
        assert np.allclose(logits["card"][at], own[splits[k].val["card"]], atol=1e-6)
        every = model.members[k](with_known_fraud(x, labels), {})["card"].detach().numpy()
        assert not np.allclose(logits["card"][at], every[splits[k].val["card"]])  # its own labels were hidden


def test_label_weights_weigh_confirmed_negatives_like_positives():
    # label 0 (a legit verdict or file label) weighs pos_weight, so clearing a ring teaches the model something;
    # unlabelled (-1) and positives weigh 1 (pos_weight already scales positives inside the loss)
    labels = {"card": np.array([1, 0, -1, 0]), "device": np.array([0, -1])}
    w = label_weights(labels, {"card": torch.tensor(4.0)})
    assert w["card"].tolist() == [1.0, 4.0, 1.0, 4.0]
    assert w["device"].tolist() == [1.0, 1.0]  # no positives, no pos_weight: nothing to balance against


def test_a_positive_inferred_from_a_ring_verdict_weighs_like_an_unlabelled_entity():
    # inside the loss a positive is scaled by pos_weight (4): the inferred one then counts 4 * 0.25 = 1
    labels = {"card": np.array([1, 1, 0, -1]), "device": np.array([1, -1])}
    w = label_weights(labels, {"card": torch.tensor(4.0)}, {"card": np.array([False, True, False, False])})
    assert w["card"].tolist() == [1.0, 0.25, 4.0, 1.0]
    assert w["device"].tolist() == [1.0, 1.0]  # no inferred mask for the type: as before


def test_bce_loss_applies_the_per_entity_weights():
    logits = {"card": torch.tensor([0.0, 2.0])}
    y = {"card": torch.tensor([1.0, 0.0])}
    idx = {"card": torch.tensor([0, 1])}
    pw = {"card": torch.tensor(3.0)}
    w = label_weights({"card": np.array([1, 0])}, pw)
    # mean of [3 * -log(sigmoid(0)), 3 * -log(1 - sigmoid(2))]: the positive scaled by pos_weight, the negative by w
    expected = (3 * np.log(2) + 3 * np.log1p(np.exp(2.0))) / 2
    assert float(bce_loss(logits, y, idx, pw, w)) == pytest.approx(expected, rel=1e-6)
    assert float(bce_loss(logits, y, idx, pw)) == pytest.approx((3 * np.log(2) + np.log1p(np.exp(2.0))) / 2, rel=1e-6)
