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

Past residuals are not exchangeable with the next block's (volatility regimes), and their
21-day targets overlap (a few years of rows are only dozens of independent observations), so
split-conformal alone under-covers after calm spells. The V band's level therefore adapts
(`AdaptiveLevel`, adaptive conformal inference, Gibbs & Candes 2021): every realised miss
lowers the miscoverage the next quantiles aim at, every hit raises it, so the long-run miss
rate is pulled to the nominal one. Feedback arrives only with realised targets (at a block's
start, for rows < start - gap), so the gain is small and the level is bounded.
"""

from __future__ import annotations

import math

import numpy as np

from volpred.data.features import TRADING_DAYS

#: ACI step per realised row: a year (252 rows) missed 10 points more often than the target
#: moves the level by 2.5 points. Gibbs & Candes use 0.005 with immediate feedback; here the
#: feedback is a block late, so a smaller gain keeps the loop from oscillating.
ACI_GAMMA = 0.001
#: The adaptive miscoverage stays within these multiples of the nominal one (0.8 -> 60%-95%).
ACI_ALPHA_RANGE = (0.25, 2.0)


class AdaptiveLevel:
    """The band level of adaptive conformal inference: alpha += gamma * (target - miss) per
    realised row, clipped to ACI_ALPHA_RANGE x the nominal miscoverage."""

    def __init__(self, level: float, gamma: float = ACI_GAMMA) -> None:
        self.target = 1.0 - level
        self.alpha = self.target
        self.gamma = gamma

    @property
    def level(self) -> float:
        return 1.0 - self.alpha

    def update(self, missed: np.ndarray) -> float:
        """Feed realised misses (True = outside its band); returns the new level."""
        missed = np.asarray(missed, dtype=float)
        alpha = self.alpha + self.gamma * float(np.sum(self.target - missed))
        lo, hi = (m * self.target for m in ACI_ALPHA_RANGE)
        self.alpha = float(min(max(alpha, lo), min(hi, 0.99)))
        return self.level


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
