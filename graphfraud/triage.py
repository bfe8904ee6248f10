"""Ring triage: learn from analysts' ring verdicts which new rings they would clear, and hold those back.

A ring raised for the first time carries no verdict, and the card model learns about cards, not about rings: what
analysts conclude about a ring's shape (say: bound only by first visits to one shop, no declines, months of quiet
shopping) reaches no model. Here a logistic regression on the behaviour of every ring judged so far (the stats
rings.ring_stats wrote on it, a few of them: FEATURES) gives each ring new tonight the chance that an analyst would
judge it fraud. A new ring below `below` is held back (listed in the nightly report with that chance), unless a
member is known as fraud: new fraud evidence is always raised, as for cleared rings (verdicts.hold_back_cleared).
Triage decides what analysts are shown, not risk: the members of a ring held back keep their ring's pull on their
scores (scoring.score_export), while a ring an analyst cleared loses it.
The model is fitted at each scoring run on the latest verdict of every judged ring (but a legit verdict on a ring
with a member known as fraud: training_examples), and only once there are at least `min_each` verdicts of each
kind (settings.triage_min_each, 80 by default: ten per feature); until then nothing is held back. Without
verdicts it changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .db import Graph
from .rings import Key, Ring

# What the ring's one-line explanation shows an analyst, plus the model's mean member risk. Counts, amounts and
# spans are heavy-tailed, hence log1p; shares and risk are in [0, 1].
FEATURES: tuple[tuple[str, Any], ...] = (
    ("decline_share", lambda s: s.get("decline_share", 0.0)),
    ("log_mean_amount", lambda s: math.log1p(max(s.get("mean_amount", 0.0), 0.0))),
    ("log_cards", lambda s: math.log1p(s.get("n_cards", 0.0))),
    ("log_devices_ips", lambda s: math.log1p(s.get("n_devices", 0.0) + s.get("n_ips", 0.0))),
    ("log_merchants", lambda s: math.log1p(s.get("n_merchants", 0.0))),
    ("log_span_days", lambda s: math.log1p(max(s.get("span_days", 0.0), 0.0))),
    ("density", lambda s: s.get("density", 0.0)),
    ("mean_risk", lambda s: s.get("mean_risk", 0.0)),
)


def ring_features(stats: dict[str, float]) -> np.ndarray:
    """One ring's stats as the triage model's feature vector (len(FEATURES),); missing stats count as 0."""
    return np.array([float(f(stats) or 0.0) for _, f in FEATURES], dtype=np.float64)


@dataclass
class TriageModel:
    """A fitted triage model and what it was fitted on."""

    pipeline: Pipeline
    n_fraud: int  # judged rings whose latest verdict is fraud
    n_legit: int  # ... legit

    def fraud_probability(self, rings: list[Ring]) -> np.ndarray:
        """P(an analyst judges the ring fraud), per ring, shape (len(rings),)."""
        if not rings:
            return np.zeros(0)
        x = np.stack([ring_features(r.stats) for r in rings])
        return self.pipeline.predict_proba(x)[:, list(self.pipeline.classes_).index(1)]


def judged_rings(graph: Graph) -> dict[str, tuple[dict[str, float], str]]:
    """Every judged ring: ring_id -> (its stats as last written on it, its latest verdict: fraud | legit)."""
    return {r["ring_id"]: ({k: v for k, v in r["props"].items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool)}, r["verdict"])
            for r in graph.read("verdicts/judged_rings")}


def training_examples(judged: dict[str, tuple[dict[str, float], str]], cleared: dict[str, frozenset[Key]],
                      known_fraud: set[Key]) -> list[tuple[dict[str, float], str]]:
    """The judged rings triage learns from: every ring judged fraud, and every ring judged legit none of whose
    judged members (`cleared`: ring id -> the members its legit verdict covered) is known as fraud tonight. Triage
    only decides about rings without known fraud, so those are the cleared rings like the ones it decides about; and
    a legit verdict against chargebacks on the ring's own members is the likeliest to be an analyst's error (dev
    world card_present 315: three fraud rings cleared by mistake on night 1, nine chargebacks among one's members
    already, made triage hold back three fraud rings a week later)."""
    return [(stats, v) for ring_id, (stats, v) in judged.items()
            if v == "fraud" or not (cleared.get(ring_id, frozenset()) & known_fraud)]


def fit_triage(judged: list[tuple[dict[str, float], str]], min_each: int) -> TriageModel | None:
    """A logistic regression (standardised features, sklearn's default L2) of verdict on ring stats; None when there
    are fewer than `min_each` verdicts of either kind (or min_each <= 0: triage off)."""
    y = np.array([v == "fraud" for _, v in judged], dtype=np.int64)
    n_fraud, n_legit = int(y.sum()), int(len(y) - y.sum())
    if min_each <= 0 or min(n_fraud, n_legit) < min_each:
        return None
    x = np.stack([ring_features(s) for s, _ in judged])
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    return TriageModel(pipeline, n_fraud, n_legit)


def hold_back_triaged(rings: list[Ring], model: TriageModel | None, known: set[str], known_fraud: set[Key],
                      below: float) -> tuple[list[Ring], list[dict]]:
    """Hold back rings new tonight (id not in `known`: not current, not recently found, never judged) that the
    triage model puts under `below`, unless a member is known as fraud (score_export: on evidence of its own).
    Returns (rings to raise, held back: ring id, reason "triage", fraud probability, size, explanation, members as
    [type, id])."""
    if model is None:
        return rings, []
    new = [r for r in rings if r.ring_id not in known and not (r.keys() & known_fraud)]
    p = dict(zip((r.ring_id for r in new), model.fraud_probability(new)))
    raised = [r for r in rings if p.get(r.ring_id, 1.0) >= below]
    held = [{"ring_id": r.ring_id, "reason": "triage", "fraud_probability": round(float(p[r.ring_id]), 4),
             "size": r.size, "explanation": r.explanation, "members": sorted(map(list, r.keys()))}
            for r in rings if p.get(r.ring_id, 1.0) < below]
    return raised, held
