"""Split-conformal prediction bands from out-of-sample residuals.

Why these residuals: volatility errors scale with the level of volatility and return errors
with the volatility, so a band of fixed width would be too wide in calm years and far too
narrow in crises. The nonconformity scores are therefore scale-free:
- V: log(realised vol / forecast vol)       -> band = forecast * exp(q)
- R: (realised - forecast) / (vol forecast * sqrt(h / 252)) -> band = forecast + q * scale
Quantiles are two-sided split-conformal, recency-weighted (non-exchangeable conformal, Barber,
Candes, Ramdas & Tibshirani 2023): a residual's weight halves every `half_life` rows of age, so
the band follows regime changes (the 2010s' errors are wider than the 1990s') instead of being
set by decades-old residuals; with equal weights they are the usual order statistics. Only
residuals whose targets were fully realised before a block starts may set that block's band.
"""

from __future__ import annotations

import math

import numpy as np

from volpred.features import TRADING_DAYS


def _upper(scores: np.ndarray, weights: np.ndarray, prob: float) -> float:
    """Smallest q with (sum of weights of scores <= q) / (sum + 1) >= prob; the new point has
    weight 1 at +inf, which is the (n + 1) finite-sample correction."""
    order = np.argsort(scores, kind="stable")
    cum = np.cumsum(weights[order]) / (weights.sum() + 1.0)
    k = int(np.searchsorted(cum, prob - 1e-12))
    return float(scores[order][k]) if k < scores.size else float("inf")


def conformal_bounds(
    scores: np.ndarray, level: float, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """(lo, hi) such that a new score falls in [lo, hi] with prob >= level (each tail gets
    (1 - level)/2). Without weights: the usual order statistics k = ceil((n+1)(1-tail))."""
    scores = np.asarray(scores, dtype=float)
    w = np.ones(scores.size) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(scores) & np.isfinite(w)
    scores, w = scores[keep], w[keep]
    if scores.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    return -_upper(-scores, w, 1.0 - tail), _upper(scores, w, 1.0 - tail)


def recency_weights(ages: np.ndarray, half_life: float | None) -> np.ndarray | None:
    """0.5 ** (age / half_life), age in rows before the forecast; None = equal weights."""
    if half_life is None or not math.isfinite(half_life):
        return None
    return 0.5 ** (np.asarray(ages, dtype=float) / half_life)


def vol_scores(y_vol: np.ndarray, pred_vol: np.ndarray) -> np.ndarray:
    return np.log(y_vol / pred_vol)


def vol_band(pred_vol: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return pred_vol * math.exp(q[0]), pred_vol * math.exp(q[1])


def ret_scale(pred_vol: np.ndarray, horizon: int) -> np.ndarray:
    """The forecast standard deviation of the horizon return implied by the vol forecast."""
    return pred_vol * math.sqrt(horizon / TRADING_DAYS)


def ret_scores(
    y_ret: np.ndarray, pred_ret: np.ndarray, pred_vol: np.ndarray, horizon: int
) -> np.ndarray:
    return (y_ret - pred_ret) / ret_scale(pred_vol, horizon)


def ret_band(
    pred_ret: np.ndarray, pred_vol: np.ndarray, q: tuple[float, float], horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    scale = ret_scale(pred_vol, horizon)
    return pred_ret + q[0] * scale, pred_ret + q[1] * scale
