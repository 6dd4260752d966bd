"""Selection: hyperparameters, combination weights and the return model, chosen on past
out-of-sample forecasts only (rows whose targets are realised before the block starts).

V: the variant with the lowest past loss (RMSE and QLIKE relative to HAR) wins, per family
(HAR-X penalty, loss and predictor groups, boosting size). The served forecast is not a pick
among families but the combination `families.VOL_ENSEMBLE` of four forecasts with different
information (HAR-X: log RV terms, the VIX and the groups chosen; GJR: returns and leverage; the
calibrated VIX: the option market; HAR: RV levels, whose intercept keeps forecasts up after calm
spells, when QLIKE punishes under-forecasts most). Its weights minimise the same past loss,
each past row weighted by its recency (half-life `VOL_ENSEMBLE.half_life`), so the weights
follow the members' recent relative performance, and are then shrunk half-way to equal
weights: picking the best of near-equal candidates, or estimating weights freely, adds more
noise than it removes (the forecast combination puzzle; Smith & Wallis 2009, Claeskens et al.
2016), and combining model-based forecasts with implied vol is what beats both in the S&P 500
literature (Becker & Clements 2008). The HAR-X/GJR pair with a chosen weight is kept as a
reported candidate.

Rows where a forecast is missing (an input it needs was missing) are left out of every
comparison that includes it; a return forecast that is missing falls back to the historical
mean, as the saved model's does.

R: a challenger must *prove* itself against the prior (VRP, Campbell-Thompson): five years of
realised rows and a one-sided DM p < 0.05 (see RET_SWITCH_P for why).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from volpred.data.features import TRADING_DAYS
from volpred.model.families import (
    FAMILIES,
    HARX_GJR,
    RET_COMBO,
    VOL_ENSEMBLE,
    Family,
    Pair,
    only,
    renormalized,
)
from volpred.model.metrics import diebold_mariano, qlike_losses

#: The served V forecast (see the module doc) and its members, in weight order.
ENSEMBLE = VOL_ENSEMBLE.name
ENSEMBLE_POOL = VOL_ENSEMBLE.members
#: Share of equal weights in the combination: w = s / k + (1 - s) * (in-window optimum).
ENSEMBLE_SHRINK = VOL_ENSEMBLE.shrink
#: Half-life (rows) of the past losses' weights in the combination.
ENSEMBLE_HALF_LIFE = VOL_ENSEMBLE.half_life
#: Prior choices used until enough realised out-of-sample rows exist to choose.
DEFAULT_VOL = ENSEMBLE
#: The R prior: the VRP forecast with Campbell-Thompson restrictions, the one predictor with
#: positive out-of-sample R² in the literature (Bollerslev, Tauchen & Zhou 2009). Where its VRP
#: slope is not positive it *is* the historical mean, so on data without a priced VRP (the
#: synthetic sample) it falls back to the mean.
DEFAULT_RET = "vrp_ct"
#: A return model replaces the prior (DEFAULT_RET) only with evidence: at least five years of
#: realised OOS rows, lower MSE and a one-sided DM p below RET_SWITCH_P. Returns are nearly
#: unpredictable; without the rule whichever candidate was lucky in the first year or two gets
#: chosen and kept (seen on the synthetic sample, where nothing predicts returns), and
#: Newey-West DM on a few years of overlapping monthly returns rejects too easily.
RET_SWITCH_P = 0.05
RET_MIN_SELECT_ROWS = 5 * TRADING_DAYS

K = TypeVar("K", bound=Hashable)


def vol_score(y: np.ndarray, pred: np.ndarray, har: np.ndarray) -> float:
    """Selection loss for V: RMSE and QLIKE, each relative to HAR on the same rows, summed."""
    mse = np.mean((y - pred) ** 2) / np.mean((y - har) ** 2)
    return float(mse + np.mean(qlike_losses(y, pred)) / np.mean(qlike_losses(y, har)))


def ret_score(y: np.ndarray, pred: np.ndarray, ref: np.ndarray) -> float:
    return float(np.mean((y - pred) ** 2))


def compared_rows(rows: np.ndarray, options: dict[Any, np.ndarray]) -> np.ndarray:
    """The rows on which every option has a forecast: a comparison is on common rows only."""
    return rows[np.all([np.isfinite(v[rows]) for v in options.values()], axis=0)]


def choose(
    options: dict[K, np.ndarray],
    rows: np.ndarray,
    y: np.ndarray,
    ref: np.ndarray,
    score: Callable[..., float],
    default: K,
    min_rows: int,
) -> K:
    """The option with the lowest score on `rows` (realised OOS rows); the default without data.

    Ties (and too few rows) keep the first-listed option, so the choice is deterministic.
    """
    rows = compared_rows(rows, options)
    if rows.size < min_rows:
        return default
    scores = {k: score(y[rows], v[rows], ref[rows]) for k, v in options.items()}
    return min(scores, key=lambda k: (scores[k], list(options).index(k)))


@dataclass
class Choice:
    """What selection picked at one block (or for the final model, over all OOS rows).

    vol_weight is the HAR-X share of the reported harx_gjr pair; vol_ensemble the weights of
    the served combination (ENSEMBLE_POOL order).
    """

    vol_variants: dict[str, Family]
    vol_weight: float
    vol: str
    ret_variants: dict[str, Family]
    ret: str
    vol_ensemble: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: variants by their keys."""
        return {
            "vol_variants": {f: v.key for f, v in self.vol_variants.items()},
            "vol_weight": self.vol_weight,
            "vol": self.vol,
            "ret_variants": {f: v.key for f, v in self.ret_variants.items()},
            "ret": self.ret,
            "vol_ensemble": dict(self.vol_ensemble),
        }


def simplex_grid(k: int, step: float) -> np.ndarray:
    """Every weight vector of length k on the simplex with entries in multiples of `step`."""
    m = round(1.0 / step)
    heads = [c for c in itertools.product(range(m + 1), repeat=k - 1) if sum(c) <= m]
    return np.array([[*c, m - sum(c)] for c in heads], dtype=float) / m


def ensemble_weights(
    forecasts: np.ndarray,
    rows: np.ndarray,
    y: np.ndarray,
    har: np.ndarray,
    min_rows: int,
    now: int | None = None,
) -> np.ndarray:
    """Combination weights for `forecasts` (k x n): on the simplex, minimising `vol_score` with
    each row's loss weighted by its recency (age `now - row`, half-life ENSEMBLE_HALF_LIFE),
    then shrunk by ENSEMBLE_SHRINK towards equal weights; equal weights without data.

    The optimiser (SLSQP from equal weights) is deterministic, and the simplex grid of the
    earlier rule (`simplex_grid`) is its starting check: the better of the two is kept.
    """
    from scipy.optimize import minimize

    k = forecasts.shape[0]
    equal = np.full(k, 1.0 / k)
    rows = rows[np.all(np.isfinite(forecasts[:, rows]), axis=0) & np.isfinite(har[rows])]
    if rows.size < min_rows:
        return equal
    age = (rows.max() + 1 if now is None else now) - rows
    rw = 0.5 ** (age / ENSEMBLE_HALF_LIFE)
    rw /= rw.sum()
    yr, hr, F = y[rows], har[rows], forecasts[:, rows]
    mse_ref = rw @ (yr - hr) ** 2
    ql_ref = rw @ qlike_losses(yr, hr)

    def score(w: np.ndarray) -> float:
        pred = np.maximum(w @ F, 1e-4)
        ratio = (yr / pred) ** 2
        return float(rw @ (yr - pred) ** 2 / mse_ref + rw @ (ratio - np.log(ratio) - 1) / ql_ref)

    coarse = simplex_grid(k, 0.25)
    start = coarse[int(np.argmin([score(w) for w in coarse]))]
    res = minimize(
        score,
        start,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * k,
        constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
        options={"ftol": 1e-10, "maxiter": 200},
    )
    best = np.clip(res.x, 0.0, 1.0) if res.success and score(res.x) <= score(start) else start
    best = best / best.sum()
    return ENSEMBLE_SHRINK * equal + (1.0 - ENSEMBLE_SHRINK) * best


def choose_with_evidence(
    options: dict[str, np.ndarray],
    rows: np.ndarray,
    y: np.ndarray,
    default: str,
    min_rows: int,
    lags: int,
    p_max: float,
) -> str:
    """The lowest-MSE option among those that beat `default` on `rows` with a one-sided DM
    p < p_max (Newey-West); `default` when none does (or too few rows)."""
    rows = compared_rows(rows, options)
    if rows.size < min_rows:
        return default
    yr = y[rows]
    base = (yr - options[default][rows]) ** 2
    passing = {}
    for name, pred in options.items():
        loss = (yr - pred[rows]) ** 2
        better = name != default and loss.mean() < base.mean()
        if better and diebold_mariano(loss, base, lags)["p_better"] < p_max:
            passing[name] = float(loss.mean())
    return min(passing, key=passing.__getitem__) if passing else default


def tuned(target: str, pair: Pair, P: dict[str, np.ndarray]) -> dict[str, tuple[Family, ...]]:
    """The target's candidate families that were fitted, the pair's members first (the pair's
    weight is chosen on their chosen variants), then the others in registry order."""
    families = FAMILIES[target]
    rest = [f for f, grid in families.items() if grid[0].candidate and f not in pair.members]
    return {f: families[f] for f in (*pair.members, *rest) if families[f][0].series in P}


def choose_all(
    P: dict[str, np.ndarray],
    rows: np.ndarray,
    y_vol: np.ndarray,
    y_ret: np.ndarray,
    min_rows: int,
    fam: dict[str, np.ndarray] | None = None,
    lags: int = 20,
    at: int | None = None,
) -> tuple[Choice, dict]:
    """Nested choice on `rows`: variant per family, the HAR-X/GJR weight, ensemble weights.

    `fam` holds families' earlier (already assembled) forecasts; when given, the weights are
    scored on them, as the walk-forward would have produced them. Returns the choice and each
    family's forecast (all rows) under this block's variants, the served ensemble included.
    """
    har = P[only("vol", "har").series]
    vol_variants = {
        f: choose({v: P[v.series] for v in grid}, rows, y_vol, har, vol_score, grid[0], min_rows)
        for f, grid in tuned("vol", HARX_GJR, P).items()
    }
    now = {f: P[v.series] for f, v in vol_variants.items()}
    past = fam if fam is not None else {f"vol/{f}": x for f, x in now.items()}
    a, b = HARX_GJR.members
    weights = {w: HARX_GJR.combine(past[f"vol/{a}"], past[f"vol/{b}"], w) for w in HARX_GJR.weights}
    w = choose(weights, rows, y_vol, har, vol_score, HARX_GJR.default, min_rows)
    now[HARX_GJR.name] = HARX_GJR.combine(now[a], now[b], w)

    def pool(forecasts: dict[str, np.ndarray]) -> np.ndarray:
        """The members' forecasts: as given where chosen, else the only variant's."""
        return np.vstack(
            [forecasts.get(f"vol/{m}", P[only("vol", m).series]) for m in ENSEMBLE_POOL]
        )

    ens_w = ensemble_weights(pool(past), rows, y_vol, har, min_rows, at)
    now[ENSEMBLE] = renormalized(pool({f"vol/{f}": x for f, x in now.items()}), ens_w)

    ret_variants = {
        f: choose({v: P[v.series] for v in grid}, rows, y_ret, har, ret_score, grid[0], min_rows)
        for f, grid in tuned("ret", RET_COMBO, P).items()
    }
    hist_mean = P[only("ret", "hist_mean").series]
    rnow = {
        f: np.where(np.isfinite(x := P[v.series]), x, hist_mean) for f, v in ret_variants.items()
    }
    c, d = RET_COMBO.members
    rnow[RET_COMBO.name] = RET_COMBO.combine(rnow[c], rnow[d], RET_COMBO.default)
    rpast = {f: (fam[f"ret/{f}"] if fam is not None else x) for f, x in rnow.items()}
    ret = choose_with_evidence(
        rpast, rows, y_ret, DEFAULT_RET, max(min_rows, RET_MIN_SELECT_ROWS), lags, RET_SWITCH_P
    )
    families = {f"vol/{f}": x for f, x in now.items()} | {f"ret/{f}": x for f, x in rnow.items()}
    choice = Choice(
        vol_variants=vol_variants,
        vol_weight=w,
        vol=DEFAULT_VOL,
        ret_variants=ret_variants,
        ret=ret,
        vol_ensemble=dict(zip(ENSEMBLE_POOL, ens_w.tolist(), strict=True)),
    )
    return choice, families
