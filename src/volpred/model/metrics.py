"""Forecast-evaluation metrics: point losses, out-of-sample R², and tests with HAC variance.

Why these: RMSE/MAE/R² are the usual point-forecast scores; QLIKE is the loss that ranks
variance forecasts consistently when the realised variance is a noisy proxy (Patton 2011);
Campbell-Thompson OOS R² compares a forecast with a benchmark on the same rows; Diebold-Mariano
and Clark-West tell whether a loss difference is more than noise. The forecasts overlap (21-day
targets sampled daily), so loss differentials are autocorrelated up to lag h-1: their variance
is Newey-West.

Every function takes aligned 1-D arrays and ignores nothing silently: callers pass the rows to
evaluate (NaNs are the caller's business, see `valid_rows`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def norm_sf(x: float) -> float:
    """P(Z > x) for a standard normal (math.erfc: no scipy import on the predict path)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def valid_rows(*arrays: np.ndarray) -> np.ndarray:
    """Mask of rows where every array is finite: the common evaluation sample."""
    mask = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        mask &= np.isfinite(a)
    return mask


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE/SST with SST around the mean of y (the usual sklearn-style R²)."""
    sst = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / sst if sst > 0 else float("nan")


def qlike_losses(realized_vol: np.ndarray, forecast_vol: np.ndarray) -> np.ndarray:
    """Per-row QLIKE on variances: RV/F - log(RV/F) - 1 (zero for a perfect forecast)."""
    ratio = (realized_vol / forecast_vol) ** 2
    return ratio - np.log(ratio) - 1.0


def qlike(realized_vol: np.ndarray, forecast_vol: np.ndarray) -> float:
    return float(np.mean(qlike_losses(realized_vol, forecast_vol)))


def oos_r2(y: np.ndarray, pred: np.ndarray, benchmark: np.ndarray) -> float:
    """Campbell-Thompson out-of-sample R²: 1 - SSE(model) / SSE(benchmark)."""
    sse_b = float(np.sum((y - benchmark) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / sse_b if sse_b > 0 else float("nan")


def hit_rate(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of rows where the forecast calls the sign right; a forecast >= 0 calls "up".

    A zero forecast (or one truncated at zero) therefore calls "up": its hit rate is the share
    of non-negative outcomes, the base rate any sign forecast must beat.
    """
    return float(np.mean((pred >= 0) == (y >= 0)))


def newey_west_variance(x: np.ndarray, lags: int) -> float:
    """Long-run variance of x (Bartlett kernel): g0 + 2 sum_l (1 - l/(L+1)) g_l, g_l = autocov/T."""
    x = np.asarray(x, dtype=float)
    n = x.size
    d = x - x.mean()
    total = float(d @ d) / n
    for lag in range(1, min(lags, n - 1) + 1):
        total += 2.0 * (1.0 - lag / (lags + 1.0)) * float(d[lag:] @ d[:-lag]) / n
    return total


def _mean_test(x: np.ndarray, lags: int) -> tuple[float, float]:
    """t statistic of mean(x) with Newey-West variance, and its standard error."""
    var = newey_west_variance(x, lags)
    se = math.sqrt(max(var, 0.0) / x.size)
    return (float(np.mean(x)) / se if se > 0 else float("nan")), se


def diebold_mariano(loss_model: np.ndarray, loss_bench: np.ndarray, lags: int) -> dict[str, float]:
    """DM test of equal expected loss. d = loss_model - loss_bench; t < 0 means the model wins.

    Two-sided p from the normal; `p_better` is the one-sided p of "model has lower loss".
    """
    d = np.asarray(loss_model, float) - np.asarray(loss_bench, float)
    t, _ = _mean_test(d, lags)
    return {
        "mean_diff": float(np.mean(d)),
        "t": t,
        "p": 2 * norm_sf(abs(t)) if math.isfinite(t) else float("nan"),
        "p_better": norm_sf(-t) if math.isfinite(t) else float("nan"),
        "n": int(d.size),
    }


def clark_west(
    y: np.ndarray, pred: np.ndarray, benchmark: np.ndarray, lags: int
) -> dict[str, float]:
    """Clark-West (2007) test that a model nesting the benchmark adds predictive power.

    f = (y - b)^2 - [(y - m)^2 - (b - m)^2]; one-sided p of mean(f) > 0. The adjustment term
    removes the noise a larger model adds under the null, which biases plain DM against it.
    """
    f = (y - benchmark) ** 2 - ((y - pred) ** 2 - (benchmark - pred) ** 2)
    t, _ = _mean_test(f, lags)
    return {
        "t": t,
        "p": norm_sf(t) if math.isfinite(t) else float("nan"),
        "n": int(f.size),
    }


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of outcomes inside the closed band [lo, hi]."""
    return float(np.mean((y >= lo) & (y <= hi)))


def _common_metrics(
    y: np.ndarray, pred: np.ndarray, benchmarks: dict[str, np.ndarray], against: str, lags: int
) -> dict[str, Any]:
    """The metrics both targets report, and the squared-error DM test against `against`."""
    out: dict[str, Any] = {
        "n": int(y.size),
        "rmse": rmse(y, pred),
        "mae": mae(y, pred),
        "r2": r2(y, pred),
        "oos_r2": {name: oos_r2(y, pred, b) for name, b in benchmarks.items()},
    }
    if y.size > lags + 1:
        out["dm_mse"] = diebold_mariano((y - pred) ** 2, (y - benchmarks[against]) ** 2, lags)
    return out


def vol_metrics(
    y: np.ndarray, pred: np.ndarray, benchmarks: dict[str, np.ndarray], dm_against: str, lags: int
) -> dict[str, Any]:
    """Every V metric of one forecast on one sample (arrays already restricted to it)."""
    out = _common_metrics(y, pred, benchmarks, dm_against, lags) | {"qlike": qlike(y, pred)}
    if "dm_mse" in out:
        bench = benchmarks[dm_against]
        out["dm_qlike"] = diebold_mariano(qlike_losses(y, pred), qlike_losses(y, bench), lags)
    return out


def ret_metrics(
    y: np.ndarray, pred: np.ndarray, benchmarks: dict[str, np.ndarray], test_against: str, lags: int
) -> dict[str, Any]:
    """Every R metric of one forecast on one sample (arrays already restricted to it)."""
    out = _common_metrics(y, pred, benchmarks, test_against, lags)
    out["hit_rate"] = hit_rate(y, pred)
    if "dm_mse" in out:
        out["clark_west"] = clark_west(y, pred, benchmarks[test_against], lags)
    return out
