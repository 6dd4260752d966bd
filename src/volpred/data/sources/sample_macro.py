"""Synthetic macro series for the offline `sample` source, shaped like FRED's files.

The point is to exercise the real folder-reading and point-in-time path offline with series
that behave like the real ones where it matters to a volatility model: the right frequencies
and observation days (weekly on Fridays or Saturdays, monthly on the 1st, daily on weekdays
with empty cells on bond holidays), plausible levels, heavy persistence, and credit spreads,
stress indices, claims and activity that move with the sample market's volatility, so that
they carry some (not too much) information about it.

The volatility driver is built from what `sample.simulate()` returns, which is left untouched:
the log VIX (a function of the latent variance state plus a small premium shock) averaged with
the log of the trailing 21-day realised vol of its closes, standardised with fixed constants so
that short windows are scaled like the full sample. Everything else comes from a random stream
of its own, seeded from the sample's seed, so the market and the macro files are reproducible
together and the market does not depend on whether macro data were made.

The series start where FRED's do (STLFSI4 at the end of 1993, the ICE BofA spreads at the end of
1996, breakeven inflation in 2003), so a joined sample table has the same leading gaps a real
one has. Values are synthetic, not history: `write_sample_macro` marks the folder as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.signal import lfilter

from volpred.data.sources.sample import ar1, bond_holidays, correlate, phi, simulate

#: First observation FRED has for each series (later windows start at their own start).
FIRST_OBSERVATION: dict[str, date] = {
    "STLFSI4": date(1993, 12, 31),
    "BAMLH0A0HYM2": date(1996, 12, 31),
    "BAMLC0A0CM": date(1996, 12, 31),
    "T10YIE": date(2003, 1, 2),
}
#: The sample's macro stream is derived from its seed and this tag (b"MAC").
STREAM_TAG = 0x4D4143
FRIDAY, SATURDAY = 5, 6


@dataclass(frozen=True)
class MacroParams:
    """Levels and loadings, set so 1990-2025 draws look like 1990-2018 FRED data."""

    log_vix_mean: float = -1.70  # log(VIX / 100) of the sample, roughly
    log_vix_sd: float = 0.375
    log_rv_mean: float = -2.01  # log of the trailing 21-day realised vol (annualised)
    log_rv_sd: float = 0.55
    driver_sd: float = 0.94  # sd of the average of the two standardised logs
    hy_log_mean: float = 1.62  # high-yield OAS, % (exp: ~5)
    hy_loading: float = 0.38
    ig_log_mean: float = 0.33  # investment-grade OAS, % (exp: ~1.4)
    ig_loading: float = 0.40
    spread_half_life: float = 15.0  # trading days: spreads react within weeks
    spread_noise_half_life: float = 120.0
    spread_noise_sd: float = 0.22
    spread_noise_corr: float = 0.7
    anfci_mean: float = -0.20
    anfci_linear: float = 0.45
    anfci_convex: float = 0.10  # exp term: stress indices spike far more than they dip
    anfci_noise_sd: float = 0.50
    stlfsi_mean: float = -0.25
    stlfsi_linear: float = 0.55
    stlfsi_convex: float = 0.15
    stlfsi_noise_sd: float = 0.50
    index_half_life: float = 10.0  # trading days of driver smoothing for the weekly indices
    index_noise_half_life: float = 13.0  # weeks
    icsa_log_mean: float = 12.72  # log(335,000)
    icsa_loading: float = 0.20
    icsa_half_life: float = 60.0  # trading days: layoffs follow conditions slowly
    icsa_noise_half_life: float = 40.0  # weeks
    icsa_noise_sd: float = 0.16
    icsa_weekly_sd: float = 0.03
    cfnai_mean: float = 0.05
    cfnai_loading: float = -0.45
    cfnai_noise_sd: float = 0.50
    oil_log_mean: float = 3.8  # log(45 $/bbl)
    oil_start: float = 22.0
    oil_half_life: float = 3 * 252.0
    oil_sd: float = 0.45  # stationary sd of log oil: ~35% annual vol at this half-life
    oil_bounds: tuple[float, float] = (10.0, 150.0)
    term_premium: float = 0.45  # 30y - 10y, %
    term_noise_half_life: float = 250.0
    term_noise_sd: float = 0.20
    floor_softness: float = 0.12
    breakeven_mean: float = 2.15
    breakeven_loading: float = -0.18
    breakeven_noise_half_life: float = 180.0
    breakeven_noise_sd: float = 0.30
    breakeven_bounds: tuple[float, float] = (0.0, 3.2)


def ewma(x: np.ndarray, half_life: float) -> np.ndarray:
    """Exponentially weighted mean started at x[0], so the first values are not pulled to 0."""
    a = phi(half_life)
    if x.size == 0:
        return x
    return lfilter([1.0 - a], [1.0, -a], x, zi=np.array([a * x[0]]))[0]


def volatility_driver(market: pl.DataFrame, p: MacroParams) -> np.ndarray:
    """Standardised mix of log VIX and log trailing realised vol: ~N(0, 1), right-skewed."""
    frame = market.select(
        pl.col("vix_close").forward_fill().backward_fill().truediv(100.0).log().alias("lvix"),
        (
            pl.col("spx_close").log().diff().fill_null(0.0).pow(2).rolling_mean(21, min_samples=1)
            * 252.0
        )
        .sqrt()
        .clip(0.03)
        .log()
        .alias("lrv"),
    )
    z_vix = (frame["lvix"].to_numpy() - p.log_vix_mean) / p.log_vix_sd
    z_rv = (frame["lrv"].to_numpy() - p.log_rv_mean) / p.log_rv_sd
    return 0.5 * (z_vix + z_rv) / p.driver_sd


def _daily(days: pl.Series, values: np.ndarray, decimals: int, holidays: np.ndarray) -> pl.Series:
    rounded = np.round(values, decimals)
    rounded[holidays] = np.nan
    return pl.Series("value", rounded, nan_to_null=True)


def _frame(obs: pl.Series, values: pl.Series, series_id: str) -> pl.DataFrame:
    frame = pl.DataFrame({"observation_date": obs, "value": values})
    first = FIRST_OBSERVATION.get(series_id)
    if first is not None:
        frame = frame.filter(pl.col("observation_date") >= first)
    return frame


def simulate_macro(
    start: date, end: date, seed: int, params: MacroParams | None = None
) -> dict[str, pl.DataFrame]:
    """Series id -> (observation_date, value) for the default macro series, nulls where FRED
    has empty cells; observation days as FRED dates them, within [start, end] (Saturdays and
    month starts may fall a day outside)."""
    p = params or MacroParams()
    market = simulate(start, end, seed)
    days = market["date"]
    n = days.len()
    if n == 0:
        return {}
    rng = np.random.default_rng([seed, STREAM_TAG])
    z = volatility_driver(market, p)
    holidays = bond_holidays(days)
    out: dict[str, pl.DataFrame] = {}

    spread_driver = ewma(z, p.spread_half_life)
    z_hy, z_ig = rng.standard_normal((2, n))
    hy_noise = ar1(z_hy, p.spread_noise_half_life, p.spread_noise_sd)
    ig_noise = ar1(
        correlate(z_ig, z_hy, p.spread_noise_corr), p.spread_noise_half_life, p.spread_noise_sd
    )
    hy = np.exp(p.hy_log_mean + p.hy_loading * spread_driver + hy_noise)
    ig = np.exp(p.ig_log_mean + p.ig_loading * spread_driver + ig_noise)
    out["BAMLH0A0HYM2"] = _frame(days, _daily(days, hy, 2, holidays), "BAMLH0A0HYM2")
    out["BAMLC0A0CM"] = _frame(days, _daily(days, ig, 2, holidays), "BAMLC0A0CM")

    dgs10 = market["dgs10"].forward_fill().backward_fill().to_numpy()
    term = p.term_premium + ar1(rng.standard_normal(n), p.term_noise_half_life, p.term_noise_sd)
    s = p.floor_softness
    dgs30 = s * np.logaddexp(0.0, (dgs10 + term) / s)
    out["DGS30"] = _frame(days, _daily(days, dgs30, 2, holidays), "DGS30")

    breakeven = (
        p.breakeven_mean
        + p.breakeven_loading * ewma(z, p.index_half_life)
        + ar1(rng.standard_normal(n), p.breakeven_noise_half_life, p.breakeven_noise_sd)
    )
    breakeven = np.clip(breakeven, *p.breakeven_bounds)
    out["T10YIE"] = _frame(days, _daily(days, breakeven, 2, holidays), "T10YIE")

    log_oil = p.oil_log_mean + ar1(
        rng.standard_normal(n), p.oil_half_life, p.oil_sd, x0=np.log(p.oil_start) - p.oil_log_mean
    )
    oil = np.clip(np.exp(log_oil), *p.oil_bounds)
    out["DCOILWTICO"] = _frame(days, _daily(days, oil, 2, holidays), "DCOILWTICO")

    fridays = days.dt.weekday().to_numpy() == FRIDAY
    weeks = int(fridays.sum())
    index_driver = ewma(z, p.index_half_life)[fridays]
    friday_days = days.filter(pl.Series(fridays))
    for series_id, mean, linear, convex, noise_sd, decimals in (
        ("ANFCI", p.anfci_mean, p.anfci_linear, p.anfci_convex, p.anfci_noise_sd, 5),
        ("STLFSI4", p.stlfsi_mean, p.stlfsi_linear, p.stlfsi_convex, p.stlfsi_noise_sd, 4),
    ):
        noise = ar1(rng.standard_normal(weeks), p.index_noise_half_life, noise_sd)
        level = mean + linear * index_driver + convex * np.exp(index_driver) + noise
        values = pl.Series("value", np.round(level, decimals))
        out[series_id] = _frame(friday_days, values, series_id)

    slow = ewma(z, p.icsa_half_life)[fridays]
    log_claims = (
        p.icsa_log_mean
        + p.icsa_loading * slow
        + ar1(rng.standard_normal(weeks), p.icsa_noise_half_life, p.icsa_noise_sd)
        + p.icsa_weekly_sd * rng.standard_normal(weeks)
    )
    claims = pl.Series("value", np.round(np.exp(log_claims), -3))
    saturdays = friday_days.dt.offset_by("1d")
    out["ICSA"] = _frame(saturdays, claims, "ICSA")

    monthly = (
        pl.DataFrame({"date": days, "z": z})
        .group_by(pl.col("date").dt.month_start().alias("observation_date"), maintain_order=True)
        .agg(pl.col("z").mean())
    )
    activity = (
        p.cfnai_mean
        + p.cfnai_loading * monthly["z"].to_numpy()
        + p.cfnai_noise_sd * rng.standard_normal(monthly.height)
    )
    out["CFNAI"] = _frame(
        monthly["observation_date"], pl.Series("value", np.round(activity, 2)), "CFNAI"
    )
    return out
