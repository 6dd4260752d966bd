"""The sample source's 5-minute bars: consistent with its daily table (which they leave as it
was), and read back through the real bar path as a hive-partitioned Parquet folder."""

from __future__ import annotations

import hashlib
import time
from datetime import date

import polars as pl
import pytest

from volpred.config import Settings
from volpred.data.realized import measures_from_bars
from volpred.data.sources.sample import simulate, simulate_bars, write_sample_bars

SHORT = {"sample_start": date(2015, 1, 1), "sample_end": date(2018, 12, 31)}


@pytest.fixture(scope="module")
def short() -> tuple[Settings, pl.DataFrame, pl.DataFrame]:
    settings = Settings(**SHORT, sample_bars_start=date(2016, 1, 1))
    daily = simulate(settings.sample_start, settings.sample_end, settings.seed)
    return settings, daily, simulate_bars(settings)


def by_day(bars: pl.DataFrame) -> pl.DataFrame:
    local = pl.col("timestamp").dt.convert_time_zone("America/New_York")
    return bars.group_by(local.dt.date().alias("date")).agg(
        first_open=pl.col("open").first(),
        last_close=pl.col("close").last(),
        high=pl.col("high").max(),
        low=pl.col("low").min(),
        bars=pl.len(),
        first_time=local.dt.strftime("%H:%M").first(),
        last_time=local.dt.strftime("%H:%M").last(),
        bar_ok=(
            (pl.col("low") <= pl.min_horizontal("open", "close"))
            & (pl.col("high") >= pl.max_horizontal("open", "close"))
        ).all(),
    )


def test_bars_match_the_daily_prices(short):
    settings, daily, bars = short
    days = by_day(bars).join(daily, on="date", how="left").sort("date")
    assert days["date"].min() == date(2016, 1, 1) and days["date"].max() == date(2018, 12, 31)
    assert days.height == daily.filter(pl.col("date") >= date(2016, 1, 1)).height
    assert (days["first_open"] == days["spx_open"]).all()
    assert (days["last_close"] == days["spx_close"]).all()
    assert (days["high"] <= days["spx_high"]).all() and (days["low"] >= days["spx_low"]).all()
    assert (days["high"] == days["spx_high"]).all() and (days["low"] == days["spx_low"]).all()
    assert days["bar_ok"].all()
    assert (days["first_time"] == "09:30").all()
    half = days.filter(pl.col("bars") == 42)
    assert set(days["bars"].unique()) == {42, 78}
    assert (
        half["last_time"] == "12:55"
    ).all() and half.height == 6  # July 3, Dec 24 and the Friday after Thanksgiving on weekdays
    assert bars["timestamp"].is_sorted()
    assert bars.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_the_daily_table_is_unchanged_by_the_bars(short):
    settings, daily, _ = short
    again = simulate(settings.sample_start, settings.sample_end, settings.seed)
    assert again.equals(daily)
    full = simulate(date(1990, 1, 2), date(2025, 12, 31), 20_240_101)
    digest = hashlib.sha256(full.write_csv().encode()).hexdigest()
    assert digest == "436e4abadfe6dd0f98c1429123d7faf590c6a0a3999508a24733a7faa48bb6c4"


def test_realized_variance_tracks_the_daily_squared_returns(short, tmp_path):
    settings, daily, _ = short
    folder = write_sample_bars(tmp_path / "bars", settings)
    assert sorted(p.name for p in folder.iterdir()) == ["year=2016", "year=2017", "year=2018"]
    result = measures_from_bars(folder, settings)
    assert result.dropped_days == [] and result.counts["half_days"] == 6
    joined = result.frame.join(daily, on="date").with_columns(
        oc2=(pl.col("spx_close") / pl.col("spx_open")).log() ** 2,
        gap=(pl.col("spx_open") / pl.col("spx_close").shift(1)).log(),
    )
    ratio = joined["rv5"].mean() / joined["oc2"].mean()
    assert 0.8 < ratio < 1.2
    monthly = joined.select(
        pl.corr(pl.col("rv5").rolling_mean(21).log(), pl.col("oc2").rolling_mean(21).log())
    ).item()
    assert monthly > 0.85
    overnight = joined.filter(pl.col("overnight_ret").is_not_null())
    assert overnight.height == joined.height - 1
    assert (overnight["overnight_ret"] - overnight["gap"]).abs().max() < 1e-12


def test_twenty_years_of_bars_take_seconds():
    settings = Settings()
    start = time.perf_counter()
    bars = simulate_bars(settings)
    elapsed = time.perf_counter() - start
    assert bars["timestamp"].min().year == 2005
    assert 400_000 < bars.height < 450_000
    assert elapsed < 10  # about half a second on an idle core
