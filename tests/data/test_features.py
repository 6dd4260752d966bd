import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.markets import make_raw
from volpred.data.features import FEATURES, TARGET_RETURN, TARGET_VOL, add_features, add_targets


@pytest.fixture
def small() -> pl.DataFrame:
    return add_targets(add_features(make_raw(n=80, seed=3)), horizon=21)


def test_daily_return_and_realized_vols_by_hand(small):
    close = small["spx_close"].to_numpy()
    ret = np.log(close[1:] / close[:-1])
    t = 40
    assert small["ret"][t] == pytest.approx(ret[t - 1])
    assert small["rv1"][t] == pytest.approx(abs(ret[t - 1]) * math.sqrt(252))
    window5 = ret[t - 5 : t]  # returns of rows t-4..t
    assert small["rv5"][t] == pytest.approx(math.sqrt(252 * np.mean(window5**2)))
    window21 = ret[t - 21 : t]
    rv21 = math.sqrt(252 * np.mean(window21**2))
    assert small["rv21"][t] == pytest.approx(rv21)
    # rv63 needs 70% of 63 returns: undefined at row 40, defined at row 79 with 63 returns
    assert small["rv63"][40] is None
    assert small["rv63"][79] == pytest.approx(math.sqrt(252 * np.mean(ret[79 - 63 : 79] ** 2)))


def test_range_estimators_by_hand(small):
    t = 50
    rows = small.slice(t - 20, 21)
    hl = np.log(rows["spx_high"].to_numpy() / rows["spx_low"].to_numpy())
    co = np.log(rows["spx_close"].to_numpy() / rows["spx_open"].to_numpy())
    parkinson = math.sqrt(252 * np.mean(hl**2) / (4 * math.log(2)))
    gk = math.sqrt(252 * np.mean(0.5 * hl**2 - (2 * math.log(2) - 1) * co**2))
    assert small["parkinson21"][t] == pytest.approx(parkinson)
    assert small["garman_klass21"][t] == pytest.approx(gk)


def test_garman_klass_falls_back_to_parkinson_without_open():
    raw = make_raw(n=60, seed=4).with_columns(spx_open=pl.lit(None, dtype=pl.Float64))
    out = add_features(raw)
    assert out["garman_klass21"].drop_nulls().to_list() == pytest.approx(
        out["parkinson21"].drop_nulls().to_list()
    )


def test_vix_vrp_spread_momentum_drawdown_by_hand(small):
    t = 60
    row = small.row(t, named=True)
    implied = (row["vix_close"] / 100) ** 2 / 12
    assert row["vix_var_month"] == pytest.approx(implied)
    ret = np.log(small["spx_close"].to_numpy()[1:] / small["spx_close"].to_numpy()[:-1])
    realized_month = np.sum(ret[t - 21 : t] ** 2)
    assert row["vrp"] == pytest.approx(implied - realized_month)
    assert row["vrp_ratio"] == pytest.approx(row["vix_close"] / (100 * row["rv21"]))
    assert row["term_spread"] == pytest.approx(row["t10y2y"])
    close = small["spx_close"].to_numpy()
    assert row["mom21"] == pytest.approx(math.log(close[t] / close[t - 21]))
    assert row["drawdown"] == pytest.approx(close[t] / close[: t + 1].max() - 1)


def test_term_spread_falls_back_to_yield_difference():
    raw = make_raw(n=30).with_columns(t10y2y=pl.lit(None, dtype=pl.Float64))
    out = add_features(raw)
    assert out["term_spread"].to_list() == pytest.approx((raw["dgs10"] - raw["dgs2"]).to_list())


def test_targets_look_forward_exactly_horizon_days(small):
    close = small["spx_close"].to_numpy()
    ret = np.log(close[1:] / close[:-1])
    t, h = 30, 21
    assert small[TARGET_RETURN][t] == pytest.approx(math.log(close[t + h] / close[t]))
    assert small[TARGET_VOL][t] == pytest.approx(math.sqrt(252 / h * np.sum(ret[t : t + h] ** 2)))
    # the last h rows have no label but stay in the table: they are what gets predicted
    assert small[TARGET_VOL].tail(h).null_count() == h
    assert small[TARGET_RETURN].tail(h).null_count() == h
    assert small[TARGET_VOL][len(small) - h - 1] is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=1, max_value=118),
    seed=st.integers(min_value=0, max_value=10_000),
    scale=st.floats(min_value=0.2, max_value=5.0),
)
def test_changing_the_future_never_changes_features_at_t(cut, seed, scale):
    """Any change to rows after t (prices, VIX, rates) leaves every feature at <= t unchanged."""
    base = make_raw(n=120, seed=1)
    future = make_raw(n=120, seed=seed).with_columns(
        pl.col("spx_open", "spx_high", "spx_low", "spx_close") * scale,
        pl.col("vix_close") * scale,
    )
    altered = pl.concat([base.head(cut), future.slice(cut).with_columns(base["date"].slice(cut))])
    features = list(FEATURES)
    before = add_features(base).head(cut).select(features)
    after = add_features(altered).head(cut).select(features)
    assert before.equals(after)


def test_vix_dynamics_by_hand():
    from volpred.data.features import add_vix_dynamics

    vix = [20.0] * 70 + [30.0]
    frame = pl.DataFrame({"vix": vix, "vrp_ratio": [1.2] * 70 + [0.9]})
    out = add_vix_dynamics(frame).row(-1, named=True)
    assert out["vix_chg5"] == pytest.approx(math.log(1.5))
    assert out["vix_chg21"] == pytest.approx(math.log(1.5))
    assert out["vix_rel63"] == pytest.approx(math.log(30 / ((62 * 20 + 30) / 63)))
    assert out["vrp_neg"] == 1.0 and add_vix_dynamics(frame)["vrp_neg"][0] == 0.0
    first = add_vix_dynamics(frame).row(0, named=True)
    assert first["vix_chg5"] is None and first["vix_rel63"] is None
