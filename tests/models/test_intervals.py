"""Conformal quantiles, bands and their coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volpred.models.intervals import (
    conformal_bounds,
    recency_weights,
    ret_band,
    ret_scores,
    vol_band,
    vol_scores,
)
from volpred.models.metrics import coverage


def test_unweighted_bounds_are_the_split_conformal_order_statistics():
    scores = np.arange(1.0, 100.0)  # n = 99, level 0.8: k_hi = ceil(100 * 0.9) = 90
    assert conformal_bounds(np.random.default_rng(0).permutation(scores), 0.8) == (10.0, 90.0)


def test_too_few_scores_give_an_infinite_band_not_a_false_one():
    assert conformal_bounds(np.array([0.1, 0.2, 0.3]), 0.8) == (-math.inf, math.inf)
    assert all(math.isnan(q) for q in conformal_bounds(np.array([]), 0.8))


def test_equal_weights_equal_the_unweighted_rule():
    s = np.random.default_rng(1).normal(size=501)
    assert conformal_bounds(s, 0.8, np.full(501, 1.0)) == conformal_bounds(s, 0.8)


def test_exchangeable_scores_are_covered_at_the_nominal_level():
    rng = np.random.default_rng(2)
    lo, hi = conformal_bounds(rng.standard_t(5, 3000), 0.8)
    fresh = rng.standard_t(5, 50_000)
    assert coverage(fresh, np.full(fresh.size, lo), np.full(fresh.size, hi)) == pytest.approx(
        0.8, abs=0.015
    )


def test_recency_weights_follow_a_regime_change():
    rng = np.random.default_rng(3)
    old, new = rng.normal(0, 1, 3000), rng.normal(0, 3, 500)
    scores = np.r_[old, new]
    ages = np.arange(scores.size)[::-1] + 1.0  # the last score is the newest
    flat = conformal_bounds(scores, 0.8)
    recent = conformal_bounds(scores, 0.8, recency_weights(ages, 100.0))
    assert recent[1] - recent[0] > 2 * (flat[1] - flat[0])
    assert recency_weights(ages, None) is None
    assert recency_weights(np.array([0.0, 100.0]), 100.0) == pytest.approx([1.0, 0.5])


def test_bands_by_hand():
    lo, hi = vol_band(np.array([0.2]), (math.log(0.5), math.log(2.0)))
    assert (lo[0], hi[0]) == pytest.approx((0.1, 0.4))
    # vol 0.2 over 21 of 252 days: sd of the horizon return = 0.2 * sqrt(1/12)
    sd = 0.2 * math.sqrt(21 / 252)
    lo, hi = ret_band(np.array([0.01]), np.array([0.2]), (-1.0, 2.0), 21)
    assert (lo[0], hi[0]) == pytest.approx((0.01 - sd, 0.01 + 2 * sd))
    assert ret_scores(np.array([0.01 + sd]), np.array([0.01]), np.array([0.2]), 21)[
        0
    ] == pytest.approx(1.0)
    assert vol_scores(np.array([0.3]), np.array([0.15]))[0] == pytest.approx(math.log(2))
