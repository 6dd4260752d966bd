"""Metric functions against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from volpred.model import metrics as m


def test_point_losses_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.0, 2.0, 3.0, 5.0])
    assert m.rmse(y, p) == pytest.approx(0.5)  # sqrt(1/4)
    assert m.mae(y, p) == pytest.approx(0.25)
    assert m.r2(y, p) == pytest.approx(0.8)  # 1 - 1/5, SST = 5


def test_qlike_by_hand():
    # realised vol 0.2 vs forecast 0.1: variance ratio 4 -> 4 - ln 4 - 1
    assert m.qlike(np.array([0.2]), np.array([0.1])) == pytest.approx(3 - math.log(4))
    assert m.qlike(np.array([0.1, 0.3]), np.array([0.1, 0.3])) == pytest.approx(0.0)
    # asymmetric: under-forecasting by a factor costs more than over-forecasting by it
    assert m.qlike(np.array([0.2]), np.array([0.1])) > m.qlike(np.array([0.1]), np.array([0.2]))


def test_oos_r2_campbell_thompson_by_hand():
    y = np.array([1.0, -1.0, 1.0, -1.0])
    # SSE(model) = 4 * 0.25 = 1, SSE(zero benchmark) = 4
    assert m.oos_r2(y, 0.5 * y, np.zeros(4)) == pytest.approx(0.75)
    assert m.oos_r2(y, np.zeros(4), np.zeros(4)) == pytest.approx(0.0)


def test_newey_west_variance_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    # g0 = 5/4 = 1.25; g1 = (0.75 - 0.25 + 0.75)/4 = 0.3125; Bartlett weight 1 - 1/2
    assert m.newey_west_variance(x, 0) == pytest.approx(1.25)
    assert m.newey_west_variance(x, 1) == pytest.approx(1.25 + 2 * 0.5 * 0.3125)


def test_diebold_mariano_by_hand():
    lb = np.zeros(4)
    lm = np.array([1.0, 2.0, 3.0, 4.0])  # d = lm - lb: mean 2.5, NW(1) var 1.5625
    out = m.diebold_mariano(lm, lb, lags=1)
    assert out["t"] == pytest.approx(2.5 / math.sqrt(1.5625 / 4))  # = 4
    assert out["p"] == pytest.approx(2 * stats.norm.sf(4.0))
    assert out["p_better"] == pytest.approx(stats.norm.cdf(4.0))  # the model is worse
    assert out["mean_diff"] == pytest.approx(2.5)


def test_clark_west_by_hand():
    y = np.array([1.0, 0.0, 2.0, 1.0])
    bench = np.full(4, 0.5)
    model = np.array([1.0, 0.5, 1.5, 1.0])
    # f = (y-b)^2 - ((y-m)^2 - (b-m)^2) = [0.5, 0, 3, 0.5]: mean 1, population var 1.375
    out = m.clark_west(y, model, bench, lags=0)
    t = 1.0 / math.sqrt(1.375 / 4)
    assert out["t"] == pytest.approx(t)
    assert out["p"] == pytest.approx(stats.norm.sf(t))


def test_hit_rate_counts_non_negative_forecasts_as_up():
    y = np.array([1.0, -1.0, 2.0, -2.0])
    assert m.hit_rate(y, np.array([0.1, 0.2, -0.1, -0.3])) == pytest.approx(0.5)
    assert m.hit_rate(y, np.zeros(4)) == pytest.approx(0.5)  # zero forecast = "up"


def test_coverage_is_closed_interval_share():
    y = np.array([1.0, 2.0, 3.0])
    assert m.coverage(y, np.array([0.0, 2.5, 3.0]), np.array([2.0, 3.0, 4.0])) == pytest.approx(
        2 / 3
    )


def test_dm_rejects_a_clearly_better_forecast_and_not_a_copy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    good = y + rng.normal(scale=0.5, size=2000)
    bad = y + rng.normal(scale=1.5, size=2000)
    out = m.diebold_mariano((y - good) ** 2, (y - bad) ** 2, lags=5)
    assert out["t"] < -10 and out["p"] < 1e-6
    same = m.diebold_mariano((y - good) ** 2, (y - good) ** 2, lags=5)
    assert math.isnan(same["t"])  # zero variance: no test, not a fake significance


finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(
    arrays(float, 30, elements=finite),
    arrays(float, 30, elements=finite),
    arrays(float, 30, elements=finite),
)
def test_dm_is_antisymmetric_and_oos_r2_consistent(y, a, b):
    la, lb = (y - a) ** 2, (y - b) ** 2
    t_ab = m.diebold_mariano(la, lb, 3)["t"]
    t_ba = m.diebold_mariano(lb, la, 3)["t"]
    if math.isfinite(t_ab):
        assert t_ab == pytest.approx(-t_ba)
    if np.sum(lb) > 0:
        assert (m.oos_r2(y, a, b) > 0) == (np.sum(la) < np.sum(lb))
