"""Ring triage (triage.py): the model of analysts' ring verdicts and which new rings it holds back. Pure: rings
and verdicts made by hand; tests/test_writeback.py runs it inside a scoring run on the real Neo4j."""

from __future__ import annotations

import numpy as np

from graphfraud.config import Settings
from graphfraud.rings import Ring, RingMember
from graphfraud.triage import FEATURES, fit_triage, hold_back_triaged, ring_features, training_examples

# Two shapes of ring: card testers (declines, tiny amounts, risky cards) and shoppers who happened to visit one shop
# first on the same day (no declines, ordinary amounts, cards the model finds harmless).
TESTERS = {"decline_share": 0.6, "mean_amount": 3.0, "n_cards": 20, "span_days": 1.0, "density": 1.0, "mean_risk": 0.9}
SHOPPERS = {"decline_share": 0.0, "mean_amount": 60.0, "n_cards": 8, "span_days": 30.0, "density": 1.0,
            "mean_risk": 0.05}


def like(stats: dict, k: int) -> dict:
    """`stats` nudged a little (k-th of a family), so that judged rings are not all identical."""
    return {**stats, "n_cards": stats["n_cards"] + k, "mean_risk": stats["mean_risk"] * (1 - 0.02 * k)}


def ring(ring_id: str, stats: dict, cards: list[str]) -> Ring:
    return Ring(ring_id, "card_testing", 0.8, [RingMember("card", c, 0.5, "card") for c in cards], [], 0, 0,
                f"ring {ring_id}", dict(stats))


def test_features_are_the_documented_transforms_of_a_rings_stats():
    stats = {"decline_share": 0.25, "mean_amount": np.e - 1, "n_cards": 9, "n_devices": 2, "n_ips": 1,
             "n_merchants": 0, "span_days": 0.0, "density": 0.5, "mean_risk": 0.7}
    assert [n for n, _ in FEATURES] == ["decline_share", "log_mean_amount", "log_cards", "log_devices_ips",
                                        "log_merchants", "log_span_days", "density", "mean_risk"]
    assert np.allclose(ring_features(stats), [0.25, 1.0, np.log(10), np.log(4), 0.0, 0.0, 0.5, 0.7])
    assert np.allclose(ring_features({}), np.zeros(len(FEATURES)))  # a ring written before a stat existed


def test_no_model_until_both_kinds_of_verdict_reach_the_minimum():
    fraud = [(like(TESTERS, k), "fraud") for k in range(4)]
    legit = [(like(SHOPPERS, k), "legit") for k in range(2)]
    assert fit_triage(fraud, 1) is None  # no legit verdict: nothing to tell a cleared ring by
    assert fit_triage(fraud + legit, 3) is None  # two legit verdicts, three asked for
    assert fit_triage(fraud + legit, 0) is None  # 0: triage off
    model = fit_triage(fraud + legit, 2)
    assert (model.n_fraud, model.n_legit) == (4, 2)


def test_by_default_a_weeks_verdicts_are_too_few_to_hold_anything_back():
    """The default asks for 10 verdicts of each kind per feature (80): a few legit verdicts among a few dozen fraud
    ones, what K = 10 reviews a night give in two weeks, fit nothing (with 1 they held back fraud rings)."""
    default = Settings().triage_min_each
    assert default == 10 * len(FEATURES)
    judged = [(like(TESTERS, k % 8), "fraud") for k in range(79)] + [(like(SHOPPERS, k), "legit") for k in range(79)]
    assert fit_triage(judged, default) is None
    assert fit_triage(judged + [(like(SHOPPERS, 1), "legit"), (like(TESTERS, 1), "fraud")], default) is not None


def test_a_new_ring_like_the_cleared_ones_is_held_back_unless_known_or_carrying_known_fraud():
    judged = [(like(TESTERS, k), "fraud") for k in range(5)] + [(like(SHOPPERS, k), "legit") for k in range(2)]
    model = fit_triage(judged, 1)
    testers = ring("R-testers", like(TESTERS, 5), ["c1", "c2"])
    shoppers = ring("R-shoppers", like(SHOPPERS, 3), ["c3", "c4"])
    current = ring("R-current", like(SHOPPERS, 4), ["c5", "c6"])  # raised last night: not new, never triaged
    charged = ring("R-charged", like(SHOPPERS, 5), ["c7", "c8"])  # c8 has a chargeback: new fraud evidence
    p = model.fraud_probability([testers, shoppers])
    assert p[0] > 0.9 and p[1] < 0.2
    raised, held = hold_back_triaged([testers, shoppers, current, charged], model, {"R-current"}, {("card", "c8")},
                                     below=0.5)
    assert [r.ring_id for r in raised] == ["R-testers", "R-current", "R-charged"]  # in their order
    assert held == [{"ring_id": "R-shoppers", "reason": "triage", "fraud_probability": round(float(p[1]), 4),
                     "size": 2, "explanation": "ring R-shoppers", "members": [["card", "c3"], ["card", "c4"]]}]
    # without a model (too few verdicts) every ring is raised; a bar of 0 holds back nothing
    assert hold_back_triaged([testers, shoppers], None, set(), set(), 0.5) == ([testers, shoppers], [])
    assert hold_back_triaged([testers, shoppers], model, set(), set(), 0.0)[1] == []


def test_one_wrong_legit_verdict_among_many_fraud_ones_holds_back_nothing_unlike_it():
    """An analyst who cleared one card-testing ring by mistake: the regression's prior (most judged rings were fraud)
    and its L2 keep that lone verdict from holding back the next card-testing ring."""
    judged = [(like(TESTERS, k), "fraud") for k in range(8)] + [(like(TESTERS, 8), "legit")]
    judged += [({**like(SHOPPERS, k), "mean_risk": 0.9}, "fraud") for k in range(3)]
    model = fit_triage(judged, 1)
    raised, held = hold_back_triaged([ring("R-next", like(TESTERS, 9), ["c1"])], model, set(), set(), 0.5)
    assert held == [] and [r.ring_id for r in raised] == ["R-next"]


def test_a_legit_verdict_on_a_ring_with_known_fraud_inside_is_not_learned_from():
    """Triage only decides about rings without known fraud; a ring cleared although a member has a chargeback is
    unlike those, and likely an analyst's error. Rings judged fraud are all learned from."""
    judged = {"R-a": (TESTERS, "fraud"), "R-b": (SHOPPERS, "legit"), "R-c": (like(TESTERS, 1), "legit"),
              "R-d": (like(TESTERS, 2), "fraud")}
    cleared = {"R-b": frozenset({("card", "c1"), ("card", "c2")}), "R-c": frozenset({("card", "c3"), ("card", "c4")})}
    known = {("card", "c4"), ("card", "c9")}
    assert training_examples(judged, cleared, known) == [(TESTERS, "fraud"), (SHOPPERS, "legit"),
                                                         (like(TESTERS, 2), "fraud")]
    assert len(training_examples(judged, cleared, set())) == 4
