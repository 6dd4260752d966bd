"""Synthetic macro files of the `sample` source: FRED's layout, read by the real folder reader,
observed on the right days, moving with the sample market's volatility, market unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from volpred.config import Settings
from volpred.data import macro
from volpred.data.sources import sample


@pytest.fixture(scope="module")
def window() -> Settings:
    return Settings(sample_start=date(2010, 1, 4), sample_end=date(2018, 12, 31))


@pytest.fixture(scope="module")
def folder(window: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("macro")
    macro.write_sample_macro(folder, window)
    return folder


def test_files_are_fred_downloads_marked_synthetic(folder: Path) -> None:
    ids = [s.id for s in macro.DEFAULT_SERIES]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{i}.csv" for i in ids] + [macro.SYNTHETIC_MARKER]
    )
    assert "SYNTHETIC DATA - NOT FROM FRED" in (folder / macro.SYNTHETIC_MARKER).read_text()
    for series_id in ids:
        lines = (folder / f"{series_id}.csv").read_text().splitlines()
        assert lines[0] == f"observation_date,{series_id}"
    dgs30 = (folder / "DGS30.csv").read_text()
    assert "\n2018-12-25,\n" in dgs30  # empty cells on bond holidays, as FRED writes them
    assert '"' not in dgs30


def test_the_reader_takes_them_and_says_synthetic(folder: Path, window: Settings) -> None:
    result = macro.read_macro_dir(folder, start=window.sample_start, end=window.sample_end)
    assert result.synthetic
    assert result.notes[0].startswith("synthetic macro data")
    assert result.short_series == []
    first = dict(result.frame.group_by("series").agg(pl.col("obs_date").min()).iter_rows())
    assert first["T10YIE"] == date(2010, 1, 4)  # FRED's own starts lie before the window
    weekday = dict(
        result.frame.group_by("series").agg(pl.col("obs_date").dt.weekday().unique()).iter_rows()
    )
    assert weekday["ANFCI"] == [5] and weekday["STLFSI4"] == [5]  # Fridays
    assert weekday["ICSA"] == [6]  # Saturdays
    assert set(weekday["DGS30"]) == {1, 2, 3, 4, 5}
    days = result.frame.filter(pl.col("series") == "CFNAI")["obs_date"].dt.day().unique()
    assert days.to_list() == [1]


def test_levels_are_plausible_and_spreads_track_volatility(folder: Path, window: Settings) -> None:
    result = macro.read_macro_dir(folder)
    levels = dict(
        result.frame.group_by("series")
        .agg(pl.col("value").min().alias("lo"), pl.col("value").max().alias("hi"))
        .select("series", pl.concat_list("lo", "hi"))
        .iter_rows()
    )
    bounds = {
        "ANFCI": (-3, 6),
        "STLFSI4": (-3, 10),
        "BAMLH0A0HYM2": (1.5, 25),
        "BAMLC0A0CM": (0.3, 8),
        "ICSA": (150_000, 1_000_000),
        "CFNAI": (-4, 3),
        "DCOILWTICO": (10, 150),
        "DGS30": (0, 12),
        "T10YIE": (0, 3.2),
    }
    for series_id, (lo, hi) in bounds.items():
        assert lo <= levels[series_id][0] <= levels[series_id][1] <= hi, series_id
    market = sample.simulate(window.sample_start, window.sample_end, window.seed)
    joined = macro.join_macro(market.select("date", "vix_close"), result.frame).drop_nulls()
    log_vix = np.log(joined["vix_close"].to_numpy())
    # One nine-year path: STLFSI4 lands near 0.35 here, the four near 0.7-0.8 over 1990-2025.
    for column in ("bamlh0a0hym2", "bamlc0a0cm", "anfci", "stlfsi4"):
        assert np.corrcoef(joined[column].to_numpy(), log_vix)[0, 1] > 0.3, column


def test_deterministic_and_leaves_the_market_alone(
    folder: Path, window: Settings, tmp_path: Path
) -> None:
    before = sample.simulate(window.sample_start, window.sample_end, window.seed)
    paths = macro.write_sample_macro(tmp_path, window)
    assert [p.name for p in paths] == [f"{s.id}.csv" for s in macro.DEFAULT_SERIES]
    for path in paths:
        assert path.read_bytes() == (folder / path.name).read_bytes()
    assert sample.simulate(window.sample_start, window.sample_end, window.seed).equals(before)
