"""The training loop's pure parts: the label trick's input column, the split and Platt calibration (no database)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphfraud.features import with_known_fraud
from graphfraud.fit import calibrate, platt
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
    out = calibrate(model, x, {}, {"card": y, "ip": np.zeros(50, np.int8)}, {"card": held, "ip": np.arange(50)})
    a, b = platt(z[held], y[held] == 1)
    assert set(out) == {"card"} and model.platt_card.tolist() == pytest.approx([a, b], rel=1e-5)
    assert model.platt_ip.tolist() == [1.0, 0.0]
    p = model.probabilities(model(x, {}))["card"]
    assert torch.allclose(p, torch.sigmoid(a * torch.from_numpy(z) + b), atol=1e-5)
