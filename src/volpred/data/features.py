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


# ------------------------------------------------------------- inputs beyond the base FEATURES
# Measured point in time like FEATURES and kept in the cleaned table; the model families read
# them as predictor groups (`model.estimators.TERM_GROUPS`), so each earns its place out of sample.

#: From daily returns, so defined for every year (also those before intraday data exists).
ASYMMETRY: dict[str, str] = {
    "rs_neg21": "downside semivol: sqrt(252 * mean of ret^2 on down days) over 21 days",
    "rs_pos21": "upside semivol: sqrt(252 * mean of ret^2 on up days) over 21 days",
    "lev5": "leverage: mean of min(ret, 0) over the last 5 days",
    "lev21": "leverage: mean of min(ret, 0) over the last 21 days",
}
#: The VIX against its own recent past, and the variance-premium regime: when the VIX jumps out
#: of a calm spell, realized volatility tends to overshoot it.
VIX_DYNAMICS: dict[str, str] = {
    "vix_rel63": "log of the VIX over its 63-day mean",
    "vix_chg5": "5-day log change of the VIX",
    "vix_chg21": "21-day log change of the VIX",
    "vrp_neg": "1 when the VIX is below trailing 21-day realized vol (a negative premium), else 0",
}
#: From intraday data (`data/realized.parquet`): null on days before it starts.
INTRADAY: dict[str, str] = {
    "irv1": "the day's 5-minute realized vol, sqrt(252 * rv5)",
    "irv5": "5-minute realized vol over the last 5 days, annualised",
    "irv21": "5-minute realized vol over the last 21 days, annualised",
    "irs_neg21": "downside realized semivol from 5-minute returns, 21 days, annualised",
    "irs_pos21": "upside realized semivol from 5-minute returns, 21 days, annualised",
    "ijump21": "jump share of 21-day realized variance: sum max(rv5 - bv, 0) / sum rv5",
    "overnight_ret": "log return from the previous session's close to the day's first price",
}
#: Where each model input comes from: its age column (trading days since that source was last
#: observed) says how stale the input is on each row. Inputs from the SPX close itself are
#: never stale (a row exists only where the close does). Market ages are taken from the raw
#: table before gaps are filled; the intraday one after the measures are joined.
MARKET_AGES: dict[str, pl.Expr] = {
    "vix_age": pl.col("vix_close").is_not_null(),
    "dgs10_age": pl.col("dgs10").is_not_null(),
    "term_spread_age": pl.col("t10y2y").is_not_null()
    | (pl.col("dgs10").is_not_null() & pl.col("dgs2").is_not_null()),
}
INTRADAY_AGES: dict[str, pl.Expr] = {"irv_age": pl.col("_rv5_day").is_not_null()}
AGE_SOURCES = MARKET_AGES | INTRADAY_AGES


def add_asymmetry(frame: pl.DataFrame) -> pl.DataFrame:
    """Semivariance and leverage terms from daily returns (Patton-Sheppard; Corsi-Renò)."""
    down = pl.when(pl.col("ret") < 0).then(pl.col("ret") ** 2).otherwise(0.0)
    up = pl.when(pl.col("ret") > 0).then(pl.col("ret") ** 2).otherwise(0.0)
    neg = pl.min_horizontal(pl.col("ret"), pl.lit(0.0))
    keep = pl.col("ret").is_not_null()
    return frame.with_columns(
        rs_neg21=(
            pl.when(keep).then(down).rolling_mean(21, min_samples=_min_samples(21)) * TRADING_DAYS
        ).sqrt(),
        rs_pos21=(
            pl.when(keep).then(up).rolling_mean(21, min_samples=_min_samples(21)) * TRADING_DAYS
        ).sqrt(),
        lev5=pl.when(keep).then(neg).rolling_mean(5, min_samples=_min_samples(5)),
        lev21=pl.when(keep).then(neg).rolling_mean(21, min_samples=_min_samples(21)),
    )


def add_vix_dynamics(frame: pl.DataFrame) -> pl.DataFrame:
    """VIX_DYNAMICS from the VIX as carried into the table (null where the VIX is)."""
    vix = pl.col("vix")
    return frame.with_columns(
        vix_rel63=(vix / vix.rolling_mean(63, min_samples=_min_samples(63))).log(),
        vix_chg5=(vix / vix.shift(5)).log(),
        vix_chg21=(vix / vix.shift(21)).log(),
        vrp_neg=pl.when(pl.col("vrp_ratio").is_not_null()).then(
            (pl.col("vrp_ratio") < 1).cast(pl.Float64)
        ),
    )


def add_intraday(frame: pl.DataFrame, realized: pl.DataFrame) -> pl.DataFrame:
    """Join the daily realized measures by date and derive the INTRADAY features.

    Windows count the table's trading days, and a day without a measure is skipped like a
    missing return: a window needs MIN_WINDOW_SHARE of its days measured.
    """
    measures = realized.select(
        pl.col("date"),
        pl.col("rv5").alias("_rv5_day"),
        pl.col("bv").alias("_bv_day"),
        pl.col("rs_pos").alias("_rs_pos_day"),
        pl.col("rs_neg").alias("_rs_neg_day"),
        pl.col("jump").alias("_jump_day"),
        pl.col("overnight_ret"),
    )
    rv, jump = pl.col("_rv5_day"), pl.col("_jump_day")

    def vol(column: str | pl.Expr, window: int) -> pl.Expr:
        col = pl.col(column) if isinstance(column, str) else column
        mean = col.rolling_mean(window, min_samples=_min_samples(window))
        return (mean * TRADING_DAYS).sqrt()

    def share(num: pl.Expr, den: pl.Expr, window: int) -> pl.Expr:
        both = num.is_not_null() & den.is_not_null()
        n = pl.when(both).then(num).rolling_sum(window, min_samples=_min_samples(window))
        d = pl.when(both).then(den).rolling_sum(window, min_samples=_min_samples(window))
        return pl.when(d > 0).then(n / d)

    return frame.join(measures, on="date", how="left", maintain_order="left").with_columns(
        irv1=(rv * TRADING_DAYS).sqrt(),
        irv5=vol(rv, 5),
        irv21=vol(rv, 21),
        irs_neg21=vol("_rs_neg_day", 21),
        irs_pos21=vol("_rs_pos_day", 21),
        ijump21=share(jump, rv, 21),
    )


def ages(frame: pl.DataFrame, sources: dict[str, pl.Expr]) -> pl.DataFrame:
    """For each age column, trading days since its source was last observed (0 on a day with
    a value; null before the first). Computed before gaps are filled, so a carried-over value
    still shows its true age."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    return frame.with_columns(
        (row - pl.when(present).then(row).forward_fill()).cast(pl.Int32).alias(name)
        for name, present in sources.items()
    )


def macro_ages(frame: pl.DataFrame, obs_columns: dict[str, str]) -> pl.DataFrame:
    """`<age>`: trading days from a macro value's observation date (the first trading day on or
    after it) to each row: how old the news is, not how long ago it was published."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    days = frame["date"]
    first = days.min()

    def age_of(obs: str) -> pl.Expr:
        at = pl.lit(days.search_sorted(frame[obs].fill_null(first), side="left"))
        # An observation older than the table counts the weekdays up to its first row too.
        before = pl.business_day_count(pl.col(obs), pl.lit(first)).clip(lower_bound=0)
        return pl.when(pl.col(obs).is_not_null()).then(row - at + before.fill_null(0))

    return frame.with_columns(
        age_of(obs).cast(pl.Int32).alias(age) for age, obs in obs_columns.items()
    )
