"""Small synthetic data for the modelling tests (never real data): ten years of the project's
seeded stochastic-volatility `sample` source, and walk-forward windows scaled to it."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from volpred.clean import build_table
from volpred.config import Settings
from volpred.models.walkforward import (
    Panel,
    WalkForwardConfig,
    WalkForwardResult,
    panel_from_table,
    run_walkforward,
)
from volpred.sources.sample import simulate

#: Four training years, two burn-in years for selection, yearly refits: ~8 blocks.
SMALL: dict[str, Any] = {
    "min_train_years": 4.0,
    "selection_years": 2.0,
    "refit_every": 252,
    "min_train_rows": 400,
    "min_select_rows": 63,
    "n_jobs": 1,
}


def small_config(**overrides: Any) -> WalkForwardConfig:
    return WalkForwardConfig(**(SMALL | {"use_gbm": False} | overrides))


def sample_raw(
    start: date = date(2000, 1, 3), end: date = date(2009, 12, 31), seed: int = 11
) -> pl.DataFrame:
    return simulate(start, end, seed)


def table_of(raw: pl.DataFrame) -> pl.DataFrame:
    return build_table(raw, Settings(horizon=21))[0]


@pytest.fixture(scope="session")
def raw_small() -> pl.DataFrame:
    return sample_raw()


@pytest.fixture(scope="session")
def table_small(raw_small: pl.DataFrame) -> pl.DataFrame:
    return table_of(raw_small)


@pytest.fixture(scope="session")
def panel_small(table_small: pl.DataFrame) -> Panel:
    return panel_from_table(table_small)


@pytest.fixture(scope="session")
def wf_small(panel_small: Panel) -> WalkForwardResult:
    return run_walkforward(panel_small, small_config())
