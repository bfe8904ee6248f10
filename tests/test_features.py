"""Pure feature helpers, no database: exact values on hand-made inputs."""

from __future__ import annotations

import math

import numpy as np

from graphfraud.features import poisson_surprise


def test_poisson_surprise_is_minus_log10_of_the_upper_tail():
    k = np.array([0, 1, 2, 3, 5])
    lam = np.array([2.0, 1.0, 0.5, 0.0, 1e-9])
    expected = [
        0.0,  # no event surprises nobody
        -math.log10(1 - math.exp(-1.0)),  # P(X >= 1) = 1 - P(0)
        -math.log10(1 - math.exp(-0.5) * 1.5),  # P(X >= 2) = 1 - P(0) - P(1)
        300.0,  # events where none can happen: capped, not infinite
        -math.log10(1e-9 ** 5 / 120),  # P(X >= 5) ~ lam^5 / 5! for a tiny lam
    ]
    assert np.allclose(poisson_surprise(k, lam), expected, rtol=1e-9, atol=1e-12)
