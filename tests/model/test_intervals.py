"""Conformal quantiles, bands and their coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volpred.model.intervals import (
    ACI_ALPHA_RANGE,
    AdaptiveLevel,
    conformal_bounds,
    recency_weights,
    ret_band,
    ret_scores,
    vol_band,
    vol_scores,
)
from volpred.model.metrics import coverage


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


def test_adaptive_level_moves_against_misses_and_stays_bounded():
    level = AdaptiveLevel(0.8, gamma=0.001)
    assert level.level == pytest.approx(0.8)
    # a miss rate equal to the target leaves the level where it is
    assert level.update(np.r_[np.ones(20, bool), np.zeros(80, bool)]) == pytest.approx(0.8)
    # 100 misses in a row: alpha falls by 0.001 * 100 * 0.8 -> the band aims higher
    assert level.update(np.ones(100, bool)) == pytest.approx(0.88)
    assert level.update(np.zeros(100, bool)) == pytest.approx(0.86)  # hits: narrower again
    lo, hi = (m * 0.2 for m in ACI_ALPHA_RANGE)
    assert level.update(np.ones(10_000, bool)) == pytest.approx(1 - lo)
    assert level.update(np.zeros(100_000, bool)) == pytest.approx(1 - hi)


def test_adaptive_level_restores_coverage_when_residuals_widen():
    """Residuals whose scale grows block by block (a regime change) are not exchangeable with
    the past: split-conformal from all earlier blocks under-covers; feeding each block's misses
    into the level (one block late, as the walk-forward does) pulls coverage back to 80%."""
    rng = np.random.default_rng(0)
    n_blocks, size = 30, 252
    scores = rng.normal(size=n_blocks * size) * np.repeat(np.linspace(1.0, 3.0, n_blocks), size)

    def run(adaptive: bool) -> float:
        level, inside, band = AdaptiveLevel(0.8), [], None
        for b in range(2, n_blocks):
            if adaptive and band is not None:
                prev = scores[(b - 1) * size : b * size]
                level.update((prev < band[0]) | (prev > band[1]))
            band = conformal_bounds(scores[: b * size], level.level)
            cur = scores[b * size : (b + 1) * size]
            inside.append((cur >= band[0]) & (cur <= band[1]))
        return float(np.concatenate(inside).mean())

    assert run(adaptive=False) < 0.7
    assert run(adaptive=True) == pytest.approx(0.8, abs=0.03)
