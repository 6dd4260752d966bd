"""Our GJR-GARCH recursion and horizon forecast agree with `arch`, and look only backwards."""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model

from volpred.model import garch


@pytest.fixture(scope="module")
def returns(panel_small) -> np.ndarray:
    return panel_small.ret


@pytest.fixture(scope="module")
def arch_fit(returns):
    r = 100 * returns[np.isfinite(returns)]
    return arch_model(r, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t", rescale=False).fit(
        disp="off"
    )


def test_fit_returns_named_stationary_parameters(returns, arch_fit):
    params = garch.fit_garch(returns, asymmetric=True, dist="t")
    expected = arch_fit.params[["mu", "omega", "alpha[1]", "gamma[1]", "beta[1]"]].to_numpy()
    np.testing.assert_allclose(params, expected, rtol=1e-6)
    assert 0 < garch.persistence(params) < 1
    assert garch.fit_garch(returns, asymmetric=False)[3] == 0.0  # no gamma in GARCH(1,1)


def test_variance_path_matches_arch_after_the_backcast_fades(returns, arch_fit):
    params = garch.fit_garch(returns, asymmetric=True, dist="t")
    h = garch.variance_path(returns, params)  # h[t] = variance of return t+1
    arch_var = arch_fit.conditional_volatility**2  # variance of each return given the past
    finite = np.flatnonzero(np.isfinite(returns))
    # arch's sigma2 for return k is our h at the row before it
    ours = h[finite[1:] - 1]
    np.testing.assert_allclose(ours[300:], arch_var[1:][300:], rtol=1e-6)


def test_horizon_forecast_matches_arch(returns, arch_fit):
    params = garch.fit_garch(returns, asymmetric=True, dist="t")
    h = garch.variance_path(returns, params)
    fc = arch_fit.forecast(horizon=21, reindex=False, method="analytic").variance.to_numpy()[-1]
    expected = np.sqrt((fc.mean() + params[0] ** 2) * 252) / 100
    ours = garch.forecast_vol(garch.state_to_vol(h[-1:]), params, 21)[0]
    assert ours == pytest.approx(expected, rel=1e-4)


def test_state_at_t_uses_returns_through_t_only(returns):
    params = garch.fit_garch(returns, asymmetric=True, dist="t")
    altered = returns.copy()
    altered[1000:] = np.random.default_rng(0).normal(0, 0.05, altered.size - 1000)
    a, b = garch.variance_path(returns, params), garch.variance_path(altered, params)
    np.testing.assert_array_equal(a[:1000], b[:1000])
    assert not np.allclose(a[1000:], b[1000:])


def test_missing_returns_carry_no_news_and_no_nan():
    params = np.array([0.05, 0.02, 0.05, 0.1, 0.88])
    r = np.r_[np.nan, np.full(50, 0.01), np.nan, np.full(50, -0.01)]
    h = garch.variance_path(r, params)
    assert np.all(np.isfinite(h)) and np.all(h > 0)


def test_forecast_coefficients_reduce_to_the_unconditional_variance():
    params = np.array([0.0, 0.02, 0.05, 0.1, 0.88])  # persistence 0.98
    uncond = params[1] / (1 - garch.persistence(params))
    vol_at_mean = garch.state_to_vol(np.array([uncond]))
    # starting at the unconditional variance, every horizon forecasts it
    assert garch.forecast_vol(vol_at_mean, params, 21)[0] == pytest.approx(vol_at_mean[0])
    a, _ = garch.forecast_coefficients(params, 1)
    assert a == pytest.approx(1.0)  # one day ahead the state is the forecast


def test_parameters_move_at_anchors_only_and_warm_starts_land_on_the_cold_optimum(returns):
    from tests.support.markets import sample_raw, table_of
    from volpred.model.design import garch_anchor, garch_params
    from volpred.model.walkforward import panel_from_table

    assert [garch_anchor(s, 1000, 252) for s in (1000, 1251, 1252, 999)] == [1000, 1000, 1252, 748]
    panel = panel_from_table(table_of(sample_raw()))
    warm = garch_params(panel, 2000, 252, True, "t", 504)
    assert (1748, 252, True, "t") in panel.garch_cache  # the estimate it started from
    cold = garch.fit_garch(panel.ret[:2000], asymmetric=True, dist="t")
    np.testing.assert_allclose(warm, cold, rtol=1e-3, atol=1e-4)
    assert garch_params(panel, 2000, 252, True, "t", 504) is warm  # cached
