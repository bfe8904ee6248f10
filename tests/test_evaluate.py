"""Metrics and the rules baseline on tiny inputs with answers worked out by hand (no database needed)."""

from __future__ import annotations

import numpy as np
import pytest

from graphfraud.baselines import neighbour_features, rule_scores
from graphfraud.evaluate import node_metrics, recall_at_precision
from graphfraud.features import FeatureStats
from graphfraud.features import model_inputs as inputs
from tests.test_model import tiny_export


def test_node_metrics_exact():
    y = {"card": np.array([1, 0, 1, 0, 1], dtype=bool)}
    scores = {"gnn": {"card": np.array([0.9, 0.8, 0.7, 0.1, 0.0])}}
    test = {"card": np.array([True, True, True, True, False])}  # the last entity was labelled in training
    m = node_metrics(scores, y, test)
    # ranks: 0.9 (+) P=1, 0.8 (-), 0.7 (+) P=2/3 -> AP = (1 + 2/3) / 2; AUROC: 3 of 4 pairs ordered
    assert m == {"card": {"gnn": {"auprc": 0.8333, "auroc": 0.75, "recall_at_p90": 0.5}}}
    assert node_metrics(scores, {"card": np.zeros(5, bool)}, test) == {"card": {"gnn": None}}


def test_recall_at_precision():
    assert recall_at_precision(np.array([1, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6])) == pytest.approx(2 / 3)
    assert recall_at_precision(np.array([0, 1]), np.array([0.9, 0.1])) == 0.0  # precision never above 0.5


def test_rules_components():
    ex = tiny_export()  # c1 and c2 share device d1 (IPs i1, i2); c3 pays in person
    s = rule_scores(ex, min_cards=2)
    assert s["card"].tolist() == [2, 2, 0] and s["device"].tolist() == [2] and s["ip"].tolist() == [2, 2]
    assert s["merchant"].tolist() == [1.0, 0.5]  # m1: c1, c2 flagged; m2: c1 flagged, c3 not
    assert rule_scores(ex, min_cards=3)["card"].tolist() == [0, 0, 0]


def test_neighbour_features_shape_and_values():
    ex = tiny_export()
    x, ei = inputs(ex, FeatureStats.fit(ex.features))
    f = neighbour_features(x, ei)
    d_card = x["card"].shape[1]
    # device d1: own + mean, max over its cards (rev_uses) and over its IPs (rev_via ip->device), + 2-hop means
    assert f["device"].shape[0] == 1
    assert np.allclose(f["device"][0, x["device"].shape[1]:x["device"].shape[1] + d_card],
                       x["card"][:2].mean(0).numpy(), atol=1e-6)
