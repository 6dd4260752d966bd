"""Session fixtures for the modelling tests: ten years of the seeded `sample` source and one
small walk-forward over it (`tests.support.markets`)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.support.markets import sample_raw, small_config, table_of
from volpred.model.walkforward import (
    Panel,
    WalkForwardResult,
    panel_from_table,
    run_walkforward,
)


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
