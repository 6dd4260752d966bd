"""Features and targets as Polars expressions over a clean, date-sorted raw frame.

Every feature at row t is a function of rows <= t only (trailing windows, cumulative maxima,
`shift` with positive lags); only the targets look forward, and they are named `target_*` so a
model can never mistake one for an input. Volatilities are annualised decimals (0.18 = 18%);
the VIX stays in its quoted points.
"""

from __future__ import annotations

import math

import polars as pl

TRADING_DAYS = 252
#: Share of a window that must be present for a rolling statistic to be defined.
MIN_WINDOW_SHARE = 0.7
_GK_OC = 2 * math.log(2) - 1
_PARKINSON = 1 / (4 * math.log(2))

#: name -> what it measures; the order is the models' input order.
FEATURES: dict[str, str] = {
    "ret": "daily log return of the SPX close",
    "rv1": "one-day realized vol, sqrt(252) * |ret|",
    "rv5": "realized vol over the last 5 days, annualised",
    "rv21": "realized vol over the last 21 days, annualised",
    "rv63": "realized vol over the last 63 days, annualised",
    "parkinson21": "Parkinson high-low range vol over 21 days, annualised",
    "garman_klass21": "Garman-Klass OHLC vol, 21 days, annualised (Parkinson without an open)",
    "vix": "VIX close, in points",
    "vix_var_month": "VIX-implied variance over the next month, (VIX/100)^2/12",
    "vrp": "variance risk premium: implied monthly variance minus trailing 21-day realized",
    "vrp_ratio": "VIX / (100 * rv21)",
    "term_spread": "10y minus 2y Treasury yield, percentage points",
    "dgs10": "10y Treasury yield, percent",
    "mom21": "21-day log return (momentum)",
    "drawdown": "close over its running maximum, minus 1",
}
TARGET_RETURN = "target_ret"
TARGET_VOL = "target_vol"
TARGETS: dict[str, str] = {
    TARGET_RETURN: "forward log return over the horizon",
    TARGET_VOL: "forward realized vol over the horizon, annualised",
}


def _min_samples(window: int) -> int:
    return max(1, math.ceil(window * MIN_WINDOW_SHARE))


def _realized_vol(window: int) -> pl.Expr:
    """sqrt(252 * mean of squared daily log returns): the non-demeaned convention of RV."""
    return (
        (pl.col("ret") ** 2).rolling_mean(window, min_samples=_min_samples(window)) * TRADING_DAYS
    ).sqrt()


def _range_variances() -> list[pl.Expr]:
    hl = (pl.col("spx_high") / pl.col("spx_low")).log()
    co = (pl.col("spx_close") / pl.col("spx_open")).log()
    parkinson = hl**2 * _PARKINSON
    garman_klass = (
        pl.when(pl.col("spx_open").is_not_null())
        .then(0.5 * hl**2 - _GK_OC * co**2)
        .otherwise(parkinson)
    )
    return [parkinson.alias("_pk_var"), garman_klass.alias("_gk_var")]


def _rolling_range_vol(column: str, window: int) -> pl.Expr:
    # A rolling mean over nulls skips them, so days without a range simply don't count.
    return (
        (pl.col(column).rolling_mean(window, min_samples=_min_samples(window)) * TRADING_DAYS)
        .clip(lower_bound=0)
        .sqrt()
    )


def add_features(frame: pl.DataFrame) -> pl.DataFrame:
    """Append every column of FEATURES; `frame` must be sorted by date with clean prices."""
    return (
        frame.with_columns(ret=(pl.col("spx_close") / pl.col("spx_close").shift(1)).log())
        .with_columns(*_range_variances())
        .with_columns(
            rv1=pl.col("ret").abs() * math.sqrt(TRADING_DAYS),
            rv5=_realized_vol(5),
            rv21=_realized_vol(21),
            rv63=_realized_vol(63),
            parkinson21=_rolling_range_vol("_pk_var", 21),
            garman_klass21=_rolling_range_vol("_gk_var", 21),
            vix=pl.col("vix_close"),
            vix_var_month=(pl.col("vix_close") / 100) ** 2 / 12,
            term_spread=pl.coalesce("t10y2y", pl.col("dgs10") - pl.col("dgs2")),
            mom21=(pl.col("spx_close") / pl.col("spx_close").shift(21)).log(),
            drawdown=pl.col("spx_close") / pl.col("spx_close").cum_max() - 1,
        )
        # rv21**2 / 12 is the trailing 21-day realized variance in monthly units.
        .with_columns(
            vrp=pl.col("vix_var_month") - pl.col("rv21") ** 2 / 12,
            vrp_ratio=pl.col("vix") / (100 * pl.col("rv21")),
        )
        .drop("_pk_var", "_gk_var")
    )


def add_targets(frame: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Forward-looking labels; the last `horizon` rows get nulls and are kept for prediction."""
    future_sq = (pl.col("ret") ** 2).reverse().rolling_sum(horizon, min_samples=horizon).reverse()
    return frame.with_columns(
        **{
            TARGET_RETURN: (pl.col("spx_close").shift(-horizon) / pl.col("spx_close")).log(),
            TARGET_VOL: (future_sq.shift(-1) * TRADING_DAYS / horizon).sqrt(),
        }
    )
