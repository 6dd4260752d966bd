"""plots: pure figure builders. Small frames made here (random-walk market, fake walk-forward)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest

from tests.support.cards import make_card
from tests.support.markets import make_raw
from volpred.data.features import add_features, add_targets
from volpred.model.card import LatestForecast
from volpred.report import charts


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return add_targets(add_features(make_raw(n=3000, seed=5)), horizon=21)


@pytest.fixture(scope="module")
def oos(table: pl.DataFrame) -> pl.DataFrame:
    """A fake walk-forward: predictions = realized times noise, bands +-20%."""
    rng = np.random.default_rng(1)
    data = table.filter(pl.col("rv21").is_not_null()).select("date", "target_vol", "target_ret")
    n = data.height
    vol = (data["target_vol"].fill_null(0.15).to_numpy()) * np.exp(rng.normal(0, 0.2, n))
    ret = rng.normal(0.005, 0.01, n)
    return data.with_columns(
        block=pl.lit(0),
        evaluated=pl.Series([i >= 100 for i in range(n)]),
        vol_selected=vol,
        vol_lo=vol * 0.8,
        vol_hi=vol * 1.2,
        ret_selected=ret,
        ret_lo=ret - 0.05,
        ret_hi=ret + 0.05,
    )


def _trace(fig: go.Figure, name: str) -> go.BaseTraceType:
    return next(t for t in fig.data if t.name == name)


def test_filter_dates_is_inclusive_and_sorted(table):
    out = charts.filter_dates(table.reverse(), date(2020, 3, 2), date(2020, 3, 6))
    assert out["date"].to_list() == [date(2020, 3, d) for d in range(2, 7)]
    assert charts.filter_dates(table, date(2100, 1, 1), None).is_empty()


def test_thin_keeps_spikes_order_and_bound():
    n = 10_000
    frame = pl.DataFrame(
        {"date": pl.date_range(date(1990, 1, 1), date(2100, 1, 1), eager=True)[:n]}
    )
    values = np.zeros(n)
    values[4321] = 9.0  # a crash-sized spike off any bucket's first row
    frame = frame.with_columns(v=values)
    out = charts.thin(frame, max_points=500, peaks=["v"])
    assert out.height <= 501
    assert out["v"].max() == 9.0
    assert out["date"].is_sorted()
    assert out["date"][-1] == frame["date"][-1]
    assert charts.thin(frame.head(10), max_points=500).height == 10


def test_history_panels_units_and_regime_shading(table):
    fig = charts.history(table, vix_regime=20.0)
    names = {t.name for t in fig.data}
    assert {"SPX close", "Drawdown", "VIX", "Realized vol 21d", "Parkinson vol 21d"} <= names
    assert fig.layout.yaxis.type == "log"
    # vols are in vol points: realized vol as 100x the decimal feature, VIX as quoted
    rv = _trace(fig, "Realized vol 21d")
    last = table.filter(pl.col("date") == rv.x[-1])
    assert rv.y[-1] == pytest.approx(last["rv21"][0] * 100)
    assert all(t.type == "scatter" and len(t.x) <= charts.MAX_POINTS + 1 for t in fig.data)
    # every day with VIX above the regime lies inside a shaded rectangle
    high = table.filter(pl.col("vix") > 20)["date"].to_list()
    assert high, "the fixture should cross the regime threshold"
    spans = [(s.x0, s.x1) for s in fig.layout.shapes]
    assert all(any(a <= d <= b for a, b in spans) for d in high)
    assert "Vol points (%)" in fig.layout.yaxis3.title.text


def test_history_date_range_and_empty_range(table):
    fig = charts.history(table, start=date(2021, 1, 1), end=date(2021, 12, 31))
    xs = _trace(fig, "SPX close").x
    assert min(xs) >= date(2021, 1, 1) and max(xs) <= date(2021, 12, 31)
    empty = charts.history(table, start=date(2100, 1, 1))
    assert len(_trace(empty, "SPX close").x) == 0
    assert "no data" in empty.layout.annotations[-1].text


def test_forecast_marks_latest_with_its_band(oos):
    latest = {
        "date": "2031-06-30",
        "vol": 0.14,
        "vol_lo": 0.10,
        "vol_hi": 0.165,
        "ret": 0.006,
        "ret_lo": -0.05,
        "ret_hi": 0.04,
    }
    fig = charts.forecast(oos, latest=latest)
    marks = [t for t in fig.data if t.name and t.name.startswith("Latest forecast")]
    assert len(marks) == 2
    vol = marks[0]
    assert vol.y[0] == pytest.approx(14.0)
    assert vol.y[0] + vol.error_y.array[0] == pytest.approx(16.5)
    assert vol.y[0] - vol.error_y.arrayminus[0] == pytest.approx(10.0)
    # only evaluated rows (the burn-in has no band)
    predicted = _trace(fig, "Predicted")
    first_evaluated = oos.filter(pl.col("evaluated"))["date"][0]
    assert min(predicted.x) == first_evaluated
    assert json.loads(fig.to_json())["layout"]["yaxis"]["title"]["text"].startswith("21-day vol")
    # a card's typed latest forecast draws the same marks as the API's record
    typed = charts.forecast(oos, latest=LatestForecast(**latest))
    assert [t.y for t in typed.data if t.name and t.name.startswith("Latest")] == [
        t.y for t in marks
    ]


def test_forecast_without_latest_and_empty(oos):
    fig = charts.forecast(oos)
    assert not [t for t in fig.data if t.name and t.name.startswith("Latest")]
    assert len(_trace(charts.forecast(oos, start=date(2100, 1, 1)), "Predicted").x) == 0


def test_residuals_are_log_ratio(oos):
    fig = charts.residuals(oos)
    hist = next(t for t in fig.data if t.type == "histogram")
    evaluated = oos.filter(pl.col("evaluated") & pl.col("target_vol").is_not_null())
    expected = np.log(evaluated["target_vol"].to_numpy() / evaluated["vol_selected"].to_numpy())
    np.testing.assert_allclose(np.asarray(hist.x), expected)


def test_autocorrelation_by_hand():
    x = np.array([1.0, -1.0] * 50)
    acf = charts.autocorrelation(x, 3)
    np.testing.assert_allclose(acf, [-0.99, 0.98, -0.97])
    assert charts.autocorrelation(np.array([1.0]), 5).size == 0


def test_model_figures_from_oos_and_card(oos):
    cov = charts.coverage_by_year(oos, level=0.8)
    vol_bars = _trace(cov, "Vol")
    assert all(0 <= v <= 100 for v in vol_bars.y)
    card = make_card(
        metrics={
            "by_year": {
                "2020": {"vol": {"selected": {"qlike": 0.2}, "har": {"qlike": 0.3}}},
                "2021": {"vol": {"selected": {"qlike": 0.4}, "har": {"qlike": 0.1}}},
            }
        }
    )
    fig = charts.metrics_by_year(card)
    assert list(_trace(fig, "Selected model").y) == [0.2, 0.4]
    assert list(_trace(fig, "HAR").y) == [0.3, 0.1]
    scatter = charts.predicted_vs_realized(oos)
    assert len(scatter.data[0].x) > 100
    acf = charts.residual_acf(oos, max_lag=30)
    assert len(acf.data[0].x) == 30


def test_vrp_in_percent(table):
    fig = charts.vrp(table)
    trace = _trace(fig, "VRP")
    last = table.filter(pl.col("date") == trace.x[-1])
    assert trace.y[-1] == pytest.approx(last["vrp"][0] * 100)
