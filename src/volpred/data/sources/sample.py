"""Seeded synthetic market: the offline default, so the pipeline runs, demos and trains anywhere.

A forecasting demo needs the stylised facts that make volatility forecastable and returns mostly
not: clustering on two time scales (calm or turbulent years, plus bursts lasting weeks), leverage
(returns and volatility shocks strongly negatively correlated), fat tails and crashes that lift
volatility, and a VIX that prices expected variance with a premium, so that it leads realised
volatility without being an oracle. Parameters are calibrated to 1990-2018 summary statistics.

* Log-variance is a slow plus a fast Gaussian AR(1) factor, the fast one with exponential upward
  jumps. Log-SV stays positive without truncation and is linear in its shocks, so it runs through
  `scipy.signal.lfilter` rather than a Python loop.
* Return shocks load on both factors' shocks (leverage); return jumps land on the variance-jump
  days (crash and panic together).
* Two long-run moments are pinned per path, because 36 years cannot identify them and the demo
  should not depend on whether a seed drew a bull market or a quiet era: the mean log return
  (its sampling sd is ~3 pts/yr) and the slow factor's sample mean (unpinned, full-sample vol
  has a cross-seed sd of 2.5 pts; pinned, 1.2). The dynamics and the episodes stay random.
* VIX is 100 * sqrt of the exact risk-neutral expectation of the average variance over the next
  21 trading days, plus jump variance. Under Q bursts revert more slowly, the level is higher and
  jumps are more frequent: that is the variance risk premium. A small AR(1) premium shock keeps
  VIX from being a deterministic function of the state (real premia wander).
* SPX OHLC: the overnight gap is the day's diffusion Brownian bridge at `overnight`, and the
  intraday high/low are exact bridge extremes, so range estimators carry the day's variance.
* Yields: a slow level and slope plus transitory noise, through a soft floor (a shadow rate) so
  that 2y yields can sit near zero as in the 2010s; FRED's bond-only holidays are null.
* Intraday 5-minute bars (`simulate_bars`, `write_sample_bars`), from 2005 on by default as
  real intraday archives start late: each day's open-to-close move as a Brownian bridge with
  the day's own diffusion variance, its jump at one bar, and a little microstructure noise,
  squeezed into the day's high-low range. They come from a separate random stream, so the
  daily table is the same with or without them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
from scipy.signal import lfilter

from volpred.config import Settings
from volpred.data.schema import RATES, VIX_OHLC, conform, empty_raw
from volpred.data.sources.base import SourceResult

DT = 1.0 / 252.0  # every row is a trading day; variances and returns are annualised by 252
HORIZON = 21  # VIX's 30 calendar days ~ 21 trading days
BOND_HOLIDAYS = [101, 704, 1111, 1225]  # month * 100 + day; plus Columbus Day below


@dataclass(frozen=True)
class Params:
    """Model parameters: annualised rates/variances, half-lives in trading days, yields in %."""

    ann_return: float = 0.067  # pinned mean log return per year
    log_var_mean: float = -4.30  # exp(-4.30 / 2): 11.6% median diffusive vol
    slow_half_life: float = 350.0  # calm vs turbulent years
    slow_sd: float = 0.70  # stationary sd of the slow log-variance factor
    slow_leverage: float = -0.6  # corr(return shock, slow shock): bear markets stay nervous
    fast_half_life: float = 30.0  # bursts and their decay
    fast_sd: float = 0.55
    leverage: float = -0.93  # corr(return shock, fast shock): VIX jumps when SPX falls
    jump_rate: float = 2.0  # per year
    jump_ret_mean: float = -0.03
    jump_ret_sd: float = 0.03
    jump_var_mean: float = 0.50  # mean exponential jump of log-variance (< 1 for a finite VIX)
    q_fast_half_life: float = 45.0  # risk-neutral: bursts revert more slowly,
    q_log_var_shift: float = 0.15  # the variance level is higher
    q_jump_mult: float = 2.0  # and crashes are more frequent
    premium_half_life: float = 10.0
    premium_sd: float = 0.03  # stationary sd of the log-VIX premium shock
    overnight: float = 0.15  # share of a day's diffusion variance that falls overnight
    vix_intraday_sd: float = 0.035  # sd of the intraday log-VIX bridge
    spx_start: float = 350.0  # the close before the first day
    volume_start: float = 2.0e8
    volume_end: float = 2.5e9
    volume_elasticity: float = 0.25  # d log volume / d log variance
    volume_half_life: float = 5.0
    volume_sd: float = 0.15
    volume_bounds: tuple[float, float] = (1e8, 5e9)
    level_start: float = 7.5  # 10y shadow level on the first day
    level_mean: float = 3.85
    level_half_life: float = 5 * 252.0
    level_sd: float = 1.0
    slope_mean: float = 1.3  # 10y - 2y shadow spread
    slope_half_life: float = 3 * 252.0
    slope_sd: float = 0.8
    slope_level_corr: float = -0.5  # easing (a falling level) steepens the curve
    noise_half_life: float = 20.0
    noise_sd: float = 0.15
    noise_corr: float = 0.8  # 10y and 2y day-to-day moves are mostly shared
    floor_softness: float = 0.12  # how close to zero the 2y can sink
    vix_gap_rate: float = 6e-4  # share of rows without VIX: a handful in 36 years


def phi(half_life: float) -> float:
    return 0.5 ** (1.0 / half_life)


def ar1(
    z: np.ndarray, half_life: float, sd: float, x0: float = 0.0, extra: float | np.ndarray = 0.0
) -> np.ndarray:
    """Stationary-sd AR(1) driven by z (plus `extra` additive shocks), started at x0."""
    a = phi(half_life)
    innov = sd * np.sqrt(1 - a**2) * z + extra
    return lfilter([1.0], [1.0, -a], innov, zi=np.array([a * x0]))[0]


def correlate(z: np.ndarray, base: np.ndarray, rho: float) -> np.ndarray:
    return rho * base + np.sqrt(1 - rho**2) * z


def vix_from_state(slow: np.ndarray, fast: np.ndarray, p: Params) -> np.ndarray:
    """100 * sqrt(E^Q[average annual variance over the next HORIZON days] + jump variance).

    Exact for the model: Gaussian factors give lognormal conditional moments; a jump j steps
    before the horizon has decayed by phi**j, and an exponential's mgf is 1 / (1 - c * mean).
    """
    ps, pf, pq = phi(p.slow_half_life), phi(p.fast_half_life), phi(p.q_fast_half_life)
    k = np.arange(1, HORIZON + 1)[:, None]
    a_s, a_f = p.slow_sd**2 * (1 - ps**2), p.fast_sd**2 * (1 - pf**2)  # one-step shock variances
    a_sf = p.slow_leverage * p.leverage * np.sqrt(a_s * a_f)
    cond_var = sum(
        a * (1 - r**k) / (1 - r) for a, r in [(a_s, ps**2), (a_f, pq**2), (2 * a_sf, ps * pq)]
    )
    q_rate = p.jump_rate * p.q_jump_mult
    decay = pq ** np.arange(HORIZON)
    jump_mgf = np.cumsum(np.log1p(q_rate * DT * (1 / (1 - decay * p.jump_var_mean) - 1)))
    log_c = p.log_var_mean + p.q_log_var_shift + 0.5 * cond_var + jump_mgf[:, None]
    variance = np.exp(log_c + ps**k * slow + pq**k * fast).mean(axis=0)
    return 100.0 * np.sqrt(variance + q_rate * (p.jump_ret_mean**2 + p.jump_ret_sd**2))


def bridge_extremes(
    x: np.ndarray, var: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Max and min of a Brownian bridge from 0 to x with total variance var (exact marginals)."""
    up, down = (np.sqrt(x**2 - 2 * var * np.log(rng.random(x.size))) for _ in range(2))
    return (x + up) / 2, (x - down) / 2


def simulate_spx_vix(
    n: int, p: Params, rng: np.random.Generator, latent: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """SPX OHLCV and VIX OHLC columns; `latent`, when given, receives the state the intraday
    bars are drawn from (each day's variance, jump return and overnight gap)."""
    z_ret, z_slow, z_fast, z_gap, z_volume, z_premium = rng.standard_normal((6, n))
    jumps = rng.random(n) < p.jump_rate * DT
    slow = ar1(
        correlate(z_slow, z_ret, p.slow_leverage),
        p.slow_half_life,
        p.slow_sd,
        x0=p.slow_sd * rng.standard_normal(),
    )
    slow -= slow.mean()
    fast = ar1(
        correlate(z_fast, z_ret, p.leverage),
        p.fast_half_life,
        p.fast_sd,
        extra=jumps * rng.exponential(p.jump_var_mean, n),
    )
    # Day t's variance is set by the state at the close of day t-1; day t's shocks move it on.
    var = np.exp(p.log_var_mean + np.r_[0.0, (slow + fast)[:-1]]) * DT
    diffusion = np.sqrt(var) * z_ret
    jump_ret = jumps * rng.normal(p.jump_ret_mean, p.jump_ret_sd, n)
    ret = diffusion - 0.5 * var + jump_ret
    if n > 1:  # pin the observable drift (row 0 has no return)
        ret += p.ann_return * DT - ret[1:].mean()
    gap = p.overnight * diffusion + np.sqrt(p.overnight * (1 - p.overnight) * var) * z_gap
    high, low = bridge_extremes(ret - gap, (1 - p.overnight) * var, rng)
    close = p.spx_start * np.exp(np.cumsum(ret))
    open_ = np.r_[p.spx_start, close[:-1]] * np.exp(gap)
    trend = np.linspace(np.log(p.volume_start), np.log(p.volume_end), n)
    log_volume = trend + p.volume_elasticity * (slow + fast)
    log_volume += ar1(z_volume, p.volume_half_life, p.volume_sd)
    if latent is not None:
        latent.update(var=var, jump_ret=jump_ret, gap=gap)
    premium = ar1(z_premium, p.premium_half_life, p.premium_sd) - 0.5 * p.premium_sd**2
    vix = vix_from_state(slow, fast, p) * np.exp(premium)
    return {
        "spx_open": open_,
        "spx_high": open_ * np.exp(high),
        "spx_low": open_ * np.exp(low),
        "spx_close": close,
        "spx_volume": np.clip(np.exp(log_volume), *p.volume_bounds),
        **vix_ohlc(vix, p, rng),
    }


def vix_ohlc(vix: np.ndarray, p: Params, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Open a share `overnight` of the way from yesterday's close; extremes from a bridge."""
    log_close = np.log(vix)
    log_open = log_close - (1 - p.overnight) * np.diff(log_close, prepend=log_close[0])
    high, low = bridge_extremes(log_close - log_open, np.full(vix.size, p.vix_intraday_sd**2), rng)
    return dict(
        zip(VIX_OHLC, np.exp([log_open, log_open + high, log_open + low, log_close]), strict=True)
    )


def simulate_rates(n: int, p: Params, rng: np.random.Generator) -> dict[str, np.ndarray]:
    z_level, z_slope, z10, z2 = rng.standard_normal((4, n))
    level = p.level_mean + ar1(
        z_level, p.level_half_life, p.level_sd, x0=p.level_start - p.level_mean
    )
    slope = p.slope_mean + ar1(
        correlate(z_slope, z_level, p.slope_level_corr), p.slope_half_life, p.slope_sd
    )
    shadow10 = level + ar1(z10, p.noise_half_life, p.noise_sd)
    shadow2 = level - slope + ar1(correlate(z2, z10, p.noise_corr), p.noise_half_life, p.noise_sd)
    s = p.floor_softness
    dgs10, dgs2 = (np.round(s * np.logaddexp(0.0, x / s), 2) for x in (shadow10, shadow2))
    return {"dgs10": dgs10, "dgs2": dgs2, "t10y2y": np.round(dgs10 - dgs2, 2)}


def bond_holidays(days: pl.Series) -> np.ndarray:
    """Weekdays with no Treasury yields on FRED though stocks could trade: ~1.5% of rows."""
    month, mday = (x.to_numpy().astype(np.int64) for x in (days.dt.month(), days.dt.day()))
    columbus = (month == 10) & (days.dt.weekday().to_numpy() == 1) & (mday >= 8) & (mday <= 14)
    return np.isin(month * 100 + mday, BOND_HOLIDAYS) | columbus


def unstale_opens(cols: dict[str, np.ndarray]) -> None:
    """Move rounded opens off yesterday's close by a cent: cleaning reads such opens as copied."""
    stale = np.r_[False, cols["spx_open"][1:] == cols["spx_close"][:-1]]
    cols["spx_open"][stale] = np.round(cols["spx_open"][stale] + 0.01, 2)
    cols["spx_high"] = np.maximum(cols["spx_high"], cols["spx_open"])


def simulate(start: date, end: date, seed: int, params: Params | None = None) -> pl.DataFrame:
    """The canonical raw table, one row per weekday from start to end inclusive."""
    return _simulate(start, end, seed, params)[0]


def _simulate(
    start: date, end: date, seed: int, params: Params | None = None
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """The raw table and the latent daily state behind it (empty when there are no days)."""
    p = params or Params()
    days = pl.date_range(start, end, "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    n = days.len()
    latent: dict[str, np.ndarray] = {}
    if n == 0:
        return empty_raw(), latent
    rng = np.random.default_rng(seed)
    cols = {
        k: np.round(v, 2)
        for k, v in (simulate_spx_vix(n, p, rng, latent) | simulate_rates(n, p, rng)).items()
    }
    cols["spx_volume"] = np.round(cols["spx_volume"])
    unstale_opens(cols)
    missing_vix = rng.choice(n, size=int(n * p.vix_gap_rate), replace=False)
    for name in VIX_OHLC:
        cols[name][missing_vix] = np.nan
    for name in RATES:
        cols[name][bond_holidays(days)] = np.nan
    series = [pl.Series(k, v, nan_to_null=True) for k, v in cols.items()]
    return conform(pl.DataFrame([days.alias("date"), *series])), latent


def load(settings: Settings, since: date | None = None, session: object = None) -> SourceResult:
    """`since` and `session` are ignored: regenerating the whole series is cheap and exact."""
    frame = simulate(settings.sample_start, settings.sample_end, settings.seed)
    return SourceResult(
        frame=frame,
        source="sample",
        uris=[f"sample://synthetic?seed={settings.seed}"],
        notes=[
            f"synthetic data from a seeded stochastic-volatility model (seed {settings.seed}),"
            " not market data"
        ],
        synthetic=True,
    )


@dataclass(frozen=True)
class BarParams:
    """Intraday 5-minute bars drawn to fit the daily table exactly."""

    u_shape: float = 1.5  # extra variance share at the open and the close (intraday U-shape)
    u_decay: float = 0.08  # its decay, as a share of the session
    noise_sd: float = 5e-5  # microstructure noise of each 5-minute log price
    wick_sd: float = 2e-4  # how far a bar's high/low reaches beyond its open and close
    volume_sd: float = 0.3
    tries: int = 12  # draws of a day's path before it is squeezed into the day's range


FULL_DAY_BARS = 78  # 09:30-16:00 in 5-minute bars
HALF_DAY_BARS = 42  # 09:30-13:00


def half_days(days: pl.Series) -> np.ndarray:
    """13:00 closes of the US calendar: July 3, December 24, the day after Thanksgiving."""
    month, mday = (x.to_numpy().astype(np.int64) for x in (days.dt.month(), days.dt.day()))
    weekday = days.dt.weekday().to_numpy()
    after_thanksgiving = (month == 11) & (weekday == 5) & (mday >= 23) & (mday <= 29)
    return ((month == 7) & (mday == 3)) | ((month == 12) & (mday == 24)) | after_thanksgiving


def _intraday_paths(
    x: np.ndarray, var: np.ndarray, jump: np.ndarray, k: int, b: BarParams, rng: np.random.Generator
) -> np.ndarray:
    """Log prices relative to the open after each of k bars, one row per day, ending exactly at
    x: a Brownian bridge in variance time (U-shaped intraday variance), total variance var,
    plus the day's return jump at a random bar."""
    u = (np.arange(k) + 0.5) / k
    weight = 1 + b.u_shape * (np.exp(-u / b.u_decay) + np.exp(-(1 - u) / b.u_decay))
    share = np.cumsum(weight / weight.sum())
    steps = rng.standard_normal((x.size, k)) * np.sqrt(var[:, None] * (weight / weight.sum()))
    walk = np.cumsum(steps, axis=1)
    at = rng.integers(0, k, x.size)
    jumps = np.where(np.arange(k)[None, :] >= at[:, None], jump[:, None], 0.0)
    bridge = walk - share[None, :] * walk[:, -1:]
    return bridge + share[None, :] * (x - jump)[:, None] + jumps


def _paths_in_range(
    x: np.ndarray,
    var: np.ndarray,
    jump: np.ndarray,
    hi: np.ndarray,
    lo: np.ndarray,
    k: int,
    b: BarParams,
    rng: np.random.Generator,
) -> np.ndarray:
    """Intraday paths that stay within each day's high-low range: drawn again for the days
    whose path left it (a third fit at the first draw), which keeps their variance; the few
    left after `b.tries` draws are squeezed into the range."""
    y = _intraday_paths(x, var, jump, k, b, rng)
    todo = np.flatnonzero((y.max(axis=1) > hi) | (y.min(axis=1) < lo))
    for _ in range(b.tries - 1):
        if todo.size == 0:
            break
        again = _intraday_paths(x[todo], var[todo], jump[todo], k, b, rng)
        fits = (again.max(axis=1) <= hi[todo]) & (again.min(axis=1) >= lo[todo])
        y[todo[fits]] = again[fits]
        todo = todo[~fits]
    if todo.size:
        y[todo] = _fit_range(y[todo], x[todo], hi[todo], lo[todo])
    return y


def _fit_range(y: np.ndarray, x: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Compress the path's excursions beyond max/min(0, x) so it stays within the day's
    range; its ends (0 and x) do not move."""
    top, bottom = np.maximum(0.0, x)[:, None], np.minimum(0.0, x)[:, None]
    peak, trough = y.max(axis=1, keepdims=True), y.min(axis=1, keepdims=True)
    up = np.where(peak > hi[:, None], (hi[:, None] - top) / np.maximum(peak - top, 1e-12), 1.0)
    down = np.where(
        trough < lo[:, None], (bottom - lo[:, None]) / np.maximum(bottom - trough, 1e-12), 1.0
    )
    y = np.where(y > top, top + (y - top) * up, y)
    return np.where(y < bottom, bottom + (y - bottom) * down, y)


def simulate_bars(settings: Settings, params: BarParams | None = None) -> pl.DataFrame:
    """5-minute bars of the sample market from `settings.sample_bars_start` to the daily end.

    Each day's bars are drawn from the same latent variance path and jumps as the daily table
    (`simulate` with the same settings, which stays as it is): the first bar opens at the
    day's open, the last closes at its close, every bar's high and low lie within the day's
    (the highest high and lowest low are the day's), plus microstructure noise and a U-shaped
    intraday variance. July 3, December 24 and the day after Thanksgiving close at 13:00.
    Columns: timestamp (bar start, UTC), open, high, low, close, volume.
    """
    b = params or BarParams()
    p = Params()
    daily, latent = _simulate(settings.sample_start, settings.sample_end, settings.seed)
    first = max(settings.sample_bars_start, settings.sample_start)
    keep = (daily["date"] >= first).to_numpy()
    schema = {
        "timestamp": pl.Datetime("us", "UTC"),
        **{c: pl.Float64 for c in ("open", "high", "low", "close", "volume")},
    }
    if not keep.any():
        return pl.DataFrame(schema=schema)
    rng = np.random.default_rng([settings.seed, 5])
    days = daily["date"].filter(pl.Series(keep))
    o, h, lo_, c, vol = (
        daily[k].to_numpy()[keep]
        for k in ("spx_open", "spx_high", "spx_low", "spx_close", "spx_volume")
    )
    var = (1 - p.overnight) * latent["var"][keep]
    jump = latent["jump_ret"][keep]
    short = half_days(days)
    pieces = []
    for k, rows in ((FULL_DAY_BARS, ~short), (HALF_DAY_BARS, short)):
        idx = np.flatnonzero(rows)
        if idx.size == 0:
            continue
        x, hi, lo = np.log(c[idx] / o[idx]), np.log(h[idx] / o[idx]), np.log(lo_[idx] / o[idx])
        y = _paths_in_range(x, var[idx], jump[idx], hi, lo, k, b, rng)
        y[:, :-1] += b.noise_sd * rng.standard_normal((idx.size, k - 1))
        close = np.clip(np.round(o[idx, None] * np.exp(y), 2), lo_[idx, None], h[idx, None])
        close[:, -1] = c[idx]
        open_ = np.concatenate([o[idx, None], close[:, :-1]], axis=1)
        wick = np.abs(rng.standard_normal((2, idx.size, k))) * b.wick_sd
        high = np.minimum(np.round(np.maximum(open_, close) * np.exp(wick[0]), 2), h[idx, None])
        low = np.maximum(np.round(np.minimum(open_, close) * np.exp(-wick[1]), 2), lo_[idx, None])
        rows_ = np.arange(idx.size)
        high[rows_, np.argmax(close, axis=1)] = h[idx]
        low[rows_, np.argmin(close, axis=1)] = lo_[idx]
        u = (np.arange(k) + 0.5) / k
        shape = 1 + 2 * (np.exp(-u / 0.1) + np.exp(-(1 - u) / 0.1))
        shares = shape * np.exp(b.volume_sd * rng.standard_normal((idx.size, k)))
        volume = np.maximum(
            np.round(vol[idx, None] * shares / shares.sum(axis=1, keepdims=True)), 1
        )
        start = days.gather(idx).cast(pl.Datetime("us")).to_numpy().astype(np.int64)
        minutes = 9 * 60 + 30 + 5 * np.arange(k)
        local = start[:, None] + minutes[None, :] * 60_000_000
        pieces.append(
            pl.DataFrame(
                {
                    "local": local.ravel(),
                    "open": open_.ravel(),
                    "high": high.ravel(),
                    "low": low.ravel(),
                    "close": close.ravel(),
                    "volume": volume.ravel(),
                }
            )
        )
    bars = pl.concat(pieces).sort("local")
    timestamp = (
        pl.from_epoch(bars["local"], "us")
        .dt.replace_time_zone("America/New_York")
        .dt.convert_time_zone("UTC")
        .alias("timestamp")
    )
    return bars.select(timestamp, *list(schema)[1:]).cast(schema)


def write_sample_bars(
    folder: Path, settings: Settings, by: Literal["year", "month", "date"] = "year"
) -> Path:
    """`simulate_bars` as a hive-partitioned Parquet folder (`year=YYYY/bars.parquet`, or
    `year=YYYY/month=M/` or `date=YYYY-MM-DD/`), the layout of a real intraday archive, so
    that reading bars runs offline. The folder is built beside the target and renamed into
    place: a reader never sees half of it."""
    folder = Path(folder)
    local = pl.col("timestamp").dt.convert_time_zone("America/New_York")
    keys = {
        "year": [local.dt.year().alias("year")],
        "month": [local.dt.year().alias("year"), local.dt.month().alias("month")],
        "date": [local.dt.date().alias("date")],
    }[by]
    bars = simulate_bars(settings).with_columns(keys)
    names = [k.meta.output_name() for k in keys]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for values, part in bars.partition_by(names, as_dict=True).items():
            target = staging.joinpath(*(f"{n}={v}" for n, v in zip(names, values, strict=True)))
            target.mkdir(parents=True)
            part.drop(names).write_parquet(target / "bars.parquet")
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            folder.rename(old)
        staging.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
