"""Small synthetic markets for tests (never real data): a random-walk raw frame, ten years of
the seeded `sample` source, and walk-forward windows scaled to them."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl

from volpred.config import Settings
from volpred.data.clean import build_table
from volpred.data.schema import conform
from volpred.data.sources.sample import simulate
from volpred.model.walkforward import WalkForwardConfig


def make_raw(n: int = 300, seed: int = 0, start: date = date(2020, 1, 1)) -> pl.DataFrame:
    """A coherent random-walk market: enough to exercise cleaning and features."""
    rng = np.random.default_rng(seed)
    dates = pl.date_range(start, date(2100, 1, 1), "1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5).head(n)
    ret = rng.normal(0.0003, 0.01, n)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    vix = 15 + 10 * np.abs(np.sin(np.arange(n) / 40)) + rng.normal(0, 0.5, n)
    dgs10 = 3 + np.cumsum(rng.normal(0, 0.02, n))
    dgs2 = dgs10 - 1 + np.cumsum(rng.normal(0, 0.01, n))
    return conform(
        pl.DataFrame(
            {
                "date": dates,
                "spx_open": open_,
                "spx_high": high,
                "spx_low": low,
                "spx_close": close,
                "spx_volume": rng.uniform(1e9, 3e9, n),
                "vix_open": vix,
                "vix_high": vix + 1,
                "vix_low": vix - 1,
                "vix_close": vix,
                "dgs10": dgs10.round(2),
                "dgs2": dgs2.round(2),
                "t10y2y": (dgs10.round(2) - dgs2.round(2)).round(2),
            }
        )
    )


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
