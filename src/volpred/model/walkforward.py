"""Expanding-window walk-forward: every model and benchmark, nested selection, honest bands.

Timeline (row indices, one per trading day; the forecast for row t is made at t's close):
- Blocks of `refit_every` rows are anchored at the evaluation start (first row of the
  `min_train_years + 1`-th year). Each block is forecast by models fitted once, before it.
- A block starting at row s trains on labelled rows i < s - gap (gap >= horizon), so every
  training target (returns of days i+1..i+h) is realised before day s. GARCH parameters use
  returns of rows < s and are then filtered through the block without refitting.
- Selection is prequential and nested: blocks also run during `selection_years` before the
  evaluation start (burn-in). At block s every hyperparameter, combination weight, model
  choice and conformal quantile is decided from earlier blocks' out-of-sample forecasts whose
  targets are realised, i.e. rows < s - gap. No choice ever sees a target at or after s.
  Burn-in blocks are scored for selection only, never reported.
- V: the variant with the lowest past loss (RMSE and QLIKE relative to HAR) wins, per family
  (HAR-X penalty and loss, boosting size). The served forecast is not a pick among families but
  a combination of four forecasts with different information (HAR-X: log RV terms and the VIX;
  GJR: returns and leverage; the calibrated VIX: the option market; HAR: RV levels, whose
  intercept keeps forecasts up after calm spells, when QLIKE punishes under-forecasts most).
  Its weights minimise the same past loss over the simplex and are then shrunk half-way to
  equal weights: picking the best of near-equal candidates, or estimating weights freely, adds
  more noise than it removes (the forecast combination puzzle; Smith & Wallis 2009, Claeskens
  et al. 2016), and combining model-based forecasts with implied vol is what beats both in the
  S&P 500 literature (Becker & Clements 2008). The HAR-X/GJR pair with a chosen weight is kept
  as a reported candidate.
  R: a challenger must *prove* itself against the prior (VRP, Campbell-Thompson): five years
  of realised rows and a one-sided DM p < 0.05 (see RET_SWITCH_P for why).

- V band: conformal quantiles of log(realised / served forecast) at a level that adaptive
  conformal inference (Gibbs & Candes 2021) moves with the band's realised misses: at each
  block start the miscoverage of rows whose targets were realised since the last block (rows
  < s - gap, forecast with earlier blocks' bands) nudges the level, so long-run coverage holds
  under regime changes that make past residuals unrepresentative.

Stage 1 (`fit_block`, independent per block, run on threads) fits everything and forecasts
the block; stage 2 (`assemble`, sequential) does the selection and the bands.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from volpred.data.features import FEATURES, TARGET_RETURN, TARGET_VOL, TRADING_DAYS
from volpred.model import benchmarks as bm
from volpred.model import estimators as cand
from volpred.model import garch
from volpred.model.intervals import (
    AdaptiveLevel,
    conformal_bounds,
    recency_weights,
    ret_band,
    ret_scores,
    vol_band,
    vol_scores,
)
from volpred.model.metrics import diebold_mariano, qlike_losses

log = logging.getLogger(__name__)

#: The GJR-GARCH one-day conditional vol (annualised decimal) as of each row's close.
GARCH_COL = "garch_vol"
#: Benchmarks need these; without them there is nothing to compare against.
REQUIRED_FEATURES = ("ret", "rv1", "rv5", "rv21", "vix")

VOL_BENCHMARKS = ("rw", "har", "vix", "vix_cal", "garch")
RET_BENCHMARKS = ("hist_mean", "zero")
#: family -> variant keys (hyperparameter grid); the first variant is the prior default.
VOL_FAMILIES: dict[str, list[str]] = {
    "harx": [f"harx@{lam:g}/{kind}" for kind in cand.HARX_KINDS for lam in cand.HARX_LAMBDAS],
    "gjr": ["gjr"],
    "gbm": [f"gbm@{k}" for k in cand.GBM_VOL_VARIANTS],
}
RET_FAMILIES: dict[str, list[str]] = {
    "hist_mean": ["hist_mean"],
    "vrp_ct": ["vrp_ct"],
    "ridge_ct": [f"ridge_ct@{lam:g}" for lam in cand.RIDGE_RET_LAMBDAS],
    "gbm": ["gbm"],
}
RET_COMBOS = {"combo": ("hist_mean", "vrp_ct")}
#: The served V forecast: a shrunk-weight combination of ENSEMBLE_POOL (see the module doc).
ENSEMBLE = "ensemble"
ENSEMBLE_POOL = ("harx", "gjr", "vix_cal", "har")
#: Share of equal weights in the combination: w = s / k + (1 - s) * (in-window optimum).
ENSEMBLE_SHRINK = 0.5
#: Resolution of the simplex grid the in-window optimum is searched on.
ENSEMBLE_STEP = 0.05
#: Prior choices used until enough realised out-of-sample rows exist to choose.
DEFAULT_VOL = ENSEMBLE
#: The R prior: the VRP forecast with Campbell-Thompson restrictions, the one predictor with
#: positive OOS R2 in the literature (Bollerslev, Tauchen & Zhou 2009) and in the lead's
#: 2005-2026 measurement (+0.46%). Where its VRP slope is not positive it *is* the historical
#: mean, so on data without a priced VRP (the synthetic sample) it falls back to the mean.
DEFAULT_RET = "vrp_ct"
DEFAULT_WEIGHT = 0.5
#: A return model replaces the prior (DEFAULT_RET) only with evidence: at least five years of
#: realised OOS rows, lower MSE and a one-sided DM p below RET_SWITCH_P. Returns are nearly
#: unpredictable; without the rule whichever candidate was lucky in the first year or two gets
#: chosen and kept (seen on the synthetic sample, where nothing predicts returns), and
#: Newey-West DM on a few years of overlapping monthly returns rejects too easily.
RET_SWITCH_P = 0.05
RET_MIN_SELECT_ROWS = 5 * TRADING_DAYS


@dataclass(frozen=True)
class WalkForwardConfig:
    horizon: int = 21
    gap: int = 21
    refit_every: int = 252
    min_train_years: float = 9.0
    selection_years: float = 4.0
    interval_level: float = 0.8
    interval_half_life_years: float | None = 3.0
    min_train_rows: int = 504
    min_select_rows: int = 126
    min_feature_share: float = 0.9
    seed: int = 0
    n_jobs: int = 1  # threads over blocks; 1 is fastest on 2 cores (GIL-bound boosting)
    use_gbm: bool = True

    def __post_init__(self) -> None:
        if self.gap < self.horizon:
            raise ValueError(
                f"gap ({self.gap}) must be >= horizon ({self.horizon}): a shorter "
                "gap trains on targets that overlap the test block"
            )
        if self.refit_every < 1 or not 0 < self.interval_level < 1:
            raise ValueError("refit_every must be >= 1 and interval_level in (0, 1)")

    @property
    def half_life_rows(self) -> float | None:
        h = self.interval_half_life_years
        return None if h is None else h * TRADING_DAYS

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> WalkForwardConfig:
        """Read walk-forward fields from Settings when they exist (defaults otherwise)."""
        horizon = int(settings.horizon)
        values = {
            "horizon": horizon,
            "gap": settings.wf_gap or horizon,
            "refit_every": settings.refit_every,
            "min_train_years": settings.min_train_years,
            "selection_years": settings.selection_years,
            "interval_level": settings.interval_level,
            "interval_half_life_years": settings.interval_half_life_years,
            "seed": int(settings.seed) % (2**32),
            "n_jobs": settings.train_jobs,
        }
        return cls(**(values | overrides))


@dataclass(frozen=True)
class Panel:
    """The cleaned table as arrays: features (NaN = missing), targets, dates."""

    dates: np.ndarray
    X: np.ndarray
    names: list[str]
    y_vol: np.ndarray
    y_ret: np.ndarray

    @property
    def n(self) -> int:
        return len(self.dates)

    @property
    def ret(self) -> np.ndarray:
        return self.X[:, self.names.index("ret")]

    @property
    def labelled(self) -> np.ndarray:
        return np.isfinite(self.y_vol) & np.isfinite(self.y_ret)


def panel_from_table(table: pl.DataFrame) -> Panel:
    names = [c for c in FEATURES if c in table.columns]
    missing = [c for c in REQUIRED_FEATURES if c not in names]
    if missing:
        raise ValueError(f"the table lacks required feature columns {missing}")
    X = table.select(pl.col(names).cast(pl.Float64)).to_numpy().astype(float, copy=True)
    X[~np.isfinite(X)] = np.nan
    ys = table.select(pl.col([TARGET_VOL, TARGET_RETURN]).cast(pl.Float64)).to_numpy()
    return Panel(
        dates=table["date"].to_numpy().astype("datetime64[D]"),
        X=X,
        names=names,
        y_vol=ys[:, 0].copy(),
        y_ret=ys[:, 1].copy(),
    )


@dataclass(frozen=True)
class Block:
    start: int  # first test row
    end: int  # one past the last test row
    train_end: int  # training rows are labelled rows < train_end (= start - gap)
    evaluated: bool  # False for selection burn-in blocks


def evaluation_start(dates: np.ndarray, min_train_years: float) -> int:
    """First row on or after the first date + min_train_years (calendar) years."""
    first = dates[0].astype("datetime64[D]").astype(object)
    cut = np.datetime64(first + timedelta(days=round(365.25 * min_train_years)), "D")
    return int(np.searchsorted(dates, cut))


def plan_blocks(panel: Panel, cfg: WalkForwardConfig) -> list[Block]:
    """Burn-in blocks (as many as `selection_years` allow with enough training rows), then
    evaluation blocks every `refit_every` rows to the end of the table."""
    n = panel.n
    eval_start = evaluation_start(panel.dates, cfg.min_train_years)
    if eval_start >= n:
        raise ValueError(f"no rows after the first {cfg.min_train_years} years to evaluate")
    usable = np.cumsum(panel.labelled & np.isfinite(panel.X[:, panel.names.index("rv21")]))

    def n_train(start: int) -> int:
        end = start - cfg.gap
        return int(usable[end - 1]) if end > 0 else 0

    if n_train(eval_start) < cfg.min_train_rows:
        raise ValueError(
            f"only {n_train(eval_start)} training rows before the evaluation start "
            f"(need {cfg.min_train_rows})"
        )
    n_burn = max(0, round(cfg.selection_years * TRADING_DAYS / cfg.refit_every))
    starts = [eval_start - k * cfg.refit_every for k in range(n_burn, 0, -1)]
    starts = [s for s in starts if s > cfg.gap and n_train(s) >= cfg.min_train_rows]
    starts += list(range(eval_start, n, cfg.refit_every))
    ends = [*starts[1:], n]
    return [Block(s, e, s - cfg.gap, s >= eval_start) for s, e in zip(starts, ends, strict=True)]


def feature_share(X: np.ndarray) -> np.ndarray:
    return np.isfinite(X).mean(axis=0) if len(X) else np.zeros(X.shape[1])


def fill_missing(X: np.ndarray, values: np.ndarray) -> np.ndarray:
    nan = np.isnan(X)
    return np.where(nan, values, X) if nan.any() else X


@dataclass
class BlockFit:
    block: Block
    preds: dict[str, np.ndarray]  # "vol/<variant>" or "ret/<variant>" -> forecasts for the block
    info: dict[str, Any] = field(default_factory=dict)


def augmented(panel: Panel, end: int, gjr_params: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Features of rows < end plus the GJR state filtered with these parameters."""
    state = garch.state_to_vol(garch.variance_path(panel.ret[:end], gjr_params))
    return np.column_stack([panel.X[:end], state]), [*panel.names, GARCH_COL]


def select_features(
    X: np.ndarray, names: list[str], min_share: float
) -> tuple[list[int], list[str]]:
    """Columns present in at least `min_share` of the training rows; the rest are dropped
    (e.g. range vols when the source has no OHLC). Returns (kept indices, dropped names)."""
    share = feature_share(X)
    keep = [i for i, s in enumerate(share) if s >= min_share]
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    lost = [c for c in REQUIRED_FEATURES if c in dropped]
    if lost:
        raise ValueError(f"required features {lost} are missing in most training rows")
    return keep, dropped


def fit_block(panel: Panel, block: Block, cfg: WalkForwardConfig) -> BlockFit:
    """Fit every variant on the block's training rows and forecast the block."""
    s, e = block.start, block.end
    gjr_params = garch.fit_garch(panel.ret[:s], asymmetric=True, dist="t")
    g11_params = garch.fit_garch(panel.ret[:s], asymmetric=False, dist="normal")
    g11_state = garch.state_to_vol(garch.variance_path(panel.ret[:e], g11_params))
    Xa, names = augmented(panel, e, gjr_params)
    candidates_rows = np.flatnonzero(panel.labelled[: block.train_end])
    keep, dropped = select_features(Xa[candidates_rows], names, cfg.min_feature_share)
    Xa, names = Xa[:, keep], [names[i] for i in keep]
    cols = {n: i for i, n in enumerate(names)}
    tr = candidates_rows[np.all(np.isfinite(Xa[candidates_rows]), axis=1)]
    medians = np.median(Xa[tr], axis=0)
    Xtr, Xte = Xa[tr], fill_missing(Xa[s:e], medians)
    yv, yr = panel.y_vol[tr], panel.y_ret[tr]
    p: dict[str, np.ndarray] = {}

    p["vol/rw"] = bm.random_walk(Xte, cols)
    har = bm.fit_har_var(Xtr, yv, cols)
    p["vol/har"] = bm.predict_har_var(Xte, cols, har)
    p["vol/vix"] = bm.vix_raw(Xte, cols)
    p["vol/vix_cal"] = bm.predict_vix_calibrated(Xte, cols, bm.fit_vix_calibrated(Xtr, yv, cols))
    p["vol/garch"] = garch.forecast_vol(g11_state[s:e], g11_params, cfg.horizon)
    p["vol/gjr"] = garch.forecast_vol(Xte[:, cols[GARCH_COL]], gjr_params, cfg.horizon)

    spec = cand.design_spec([n for n in names if n != GARCH_COL])
    Dtr, Dte = cand.design(Xtr, spec), cand.design(Xte, spec)
    vix_tr, vix_te = Xtr[:, cols["vix"]], Xte[:, cols["vix"]]
    harx_coef = {}
    for lam in cand.HARX_LAMBDAS:
        for kind, fit in cand.fit_harx(Dtr, vix_tr, yv, lam).items():
            p[f"vol/harx@{lam:g}/{kind}"] = cand.predict_harx(Dte, vix_te, fit)
            harx_coef[f"{lam:g}/{kind}"] = dict(
                zip(spec["terms"], fit["coef"].round(4).tolist(), strict=True)
            )
    if cfg.use_gbm:
        for key, params in cand.GBM_VOL_VARIANTS.items():
            fit = cand.fit_gbm_vol(Dtr, vix_tr, yv, params, cfg.seed)
            p[f"vol/gbm@{key}"] = cand.predict_gbm_vol(Dte, vix_te, fit)

    p["ret/hist_mean"] = bm.historical_mean(yr, e - s)
    p["ret/zero"] = np.zeros(e - s)
    if "vrp" in cols:
        vrp_fit = cand.fit_vrp_ct(Xtr[:, cols["vrp"]], yr)
        p["ret/vrp_ct"] = cand.truncate(cand.linear(Xte[:, [cols["vrp"]]], vrp_fit))
    else:
        p["ret/vrp_ct"] = cand.truncate(p["ret/hist_mean"])
    rspec = cand.design_spec([n for n in names if n != GARCH_COL], returns=True)
    Rtr, Rte = cand.design(Xtr, rspec), cand.design(Xte, rspec)
    for lam in cand.RIDGE_RET_LAMBDAS:
        p[f"ret/ridge_ct@{lam:g}"] = cand.truncate(cand.linear(Rte, cand.fit_ridge(Rtr, yr, lam)))
    if cfg.use_gbm:
        p["ret/gbm"] = cand.predict_gbm_ret(Rte, cand.fit_gbm_ret(Rtr, yr, cfg.seed))

    info = {
        "train_rows": int(tr.size),
        "dropped_features": dropped,
        "gjr": garch.describe(gjr_params),
        "garch": garch.describe(g11_params),
        "har_coef": har.round(5).tolist(),
        "harx_coef": harx_coef,
    }
    return BlockFit(block, p, info)


# ---------------------------------------------------------------- stage 2: choose and assemble


def vol_score(y: np.ndarray, pred: np.ndarray, har: np.ndarray) -> float:
    """Selection loss for V: RMSE and QLIKE, each relative to HAR on the same rows, summed."""
    mse = np.mean((y - pred) ** 2) / np.mean((y - har) ** 2)
    return float(mse + np.mean(qlike_losses(y, pred)) / np.mean(qlike_losses(y, har)))


def ret_score(y: np.ndarray, pred: np.ndarray, ref: np.ndarray) -> float:
    return float(np.mean((y - pred) ** 2))


def choose(
    options: dict[str, np.ndarray],
    rows: np.ndarray,
    y: np.ndarray,
    ref: np.ndarray,
    score: Callable[..., float],
    default: str,
    min_rows: int,
) -> str:
    """The option with the lowest score on `rows` (realised OOS rows); the default without data.

    Ties (and too few rows) keep the first-listed option, so the choice is deterministic.
    """
    if rows.size < min_rows:
        return default
    scores = {k: score(y[rows], v[rows], ref[rows]) for k, v in options.items()}
    return min(scores, key=lambda k: (scores[k], list(options).index(k)))


@dataclass
class Choice:
    """What stage 2 picked at one block (or for the final model, over all OOS rows).

    vol_weight is the HAR-X share of the reported harx_gjr pair; vol_ensemble the weights of
    the served combination (ENSEMBLE_POOL order).
    """

    vol_variants: dict[str, str]
    vol_weight: float
    vol: str
    ret_variants: dict[str, str]
    ret: str
    vol_ensemble: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def combine(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    return w * a + (1.0 - w) * b


def simplex_grid(k: int, step: float) -> np.ndarray:
    """Every weight vector of length k on the simplex with entries in multiples of `step`."""
    m = round(1.0 / step)
    heads = [c for c in itertools.product(range(m + 1), repeat=k - 1) if sum(c) <= m]
    return np.array([[*c, m - sum(c)] for c in heads], dtype=float) / m


def ensemble_weights(
    forecasts: np.ndarray, rows: np.ndarray, y: np.ndarray, har: np.ndarray, min_rows: int
) -> np.ndarray:
    """Combination weights for `forecasts` (k x n): the grid point with the lowest `vol_score`
    on `rows`, shrunk by ENSEMBLE_SHRINK towards equal weights; equal weights without data.

    Ties keep the first grid point, so the result is deterministic.
    """
    k = forecasts.shape[0]
    equal = np.full(k, 1.0 / k)
    if rows.size < min_rows:
        return equal
    yr, hr, F = y[rows], har[rows], forecasts[:, rows]
    mse_ref = np.mean((yr - hr) ** 2)
    ql_ref = np.mean(qlike_losses(yr, hr))
    grid = simplex_grid(k, ENSEMBLE_STEP)
    scores = np.empty(len(grid))
    for i in range(0, len(grid), 256):  # chunks bound the memory (grid x rows)
        pred = grid[i : i + 256] @ F
        ratio = (yr / pred) ** 2
        scores[i : i + 256] = (
            np.mean((yr - pred) ** 2, axis=1) / mse_ref
            + np.mean(ratio - np.log(ratio) - 1.0, axis=1) / ql_ref
        )
    best = grid[int(np.argmin(scores))]
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


def choose_all(
    P: dict[str, np.ndarray],
    rows: np.ndarray,
    y_vol: np.ndarray,
    y_ret: np.ndarray,
    min_rows: int,
    fam: dict[str, np.ndarray] | None = None,
    lags: int = 20,
) -> tuple[Choice, dict]:
    """Nested choice on `rows`: variant per family, the HAR-X/GJR weight, ensemble weights.

    `fam` holds families' earlier (already assembled) forecasts; when given, the weights are
    scored on them, as the walk-forward would have produced them. Returns the choice and each
    family's forecast (all rows) under this block's variants, the served ensemble included.
    """
    har = P["vol/har"]
    vol_variants = {
        f: choose({v: P[f"vol/{v}"] for v in vs}, rows, y_vol, har, vol_score, vs[0], min_rows)
        for f, vs in VOL_FAMILIES.items()
        if f"vol/{vs[0]}" in P
    }
    now = {f: P[f"vol/{v}"] for f, v in vol_variants.items()}
    past = fam if fam is not None else {f"vol/{f}": x for f, x in now.items()}
    weights = {f"{w:g}": combine(past["vol/harx"], past["vol/gjr"], w) for w in cand.COMBO_WEIGHTS}
    w = float(choose(weights, rows, y_vol, har, vol_score, f"{DEFAULT_WEIGHT:g}", min_rows))
    now["harx_gjr"] = combine(now["harx"], now["gjr"], w)

    def pool(forecasts: dict[str, np.ndarray]) -> np.ndarray:
        keys = [f"vol/{m}" for m in ENSEMBLE_POOL]
        return np.vstack([forecasts[k] if k in forecasts else P[k] for k in keys])

    ens_w = ensemble_weights(pool(past), rows, y_vol, har, min_rows)
    now[ENSEMBLE] = ens_w @ pool({f"vol/{f}": x for f, x in now.items()})
    vol = DEFAULT_VOL

    ret_variants = {
        f: choose({v: P[f"ret/{v}"] for v in vs}, rows, y_ret, har, ret_score, vs[0], min_rows)
        for f, vs in RET_FAMILIES.items()
        if f"ret/{vs[0]}" in P
    }
    rnow = {f: P[f"ret/{v}"] for f, v in ret_variants.items()}
    rnow |= {c: 0.5 * (rnow[a] + rnow[b]) for c, (a, b) in RET_COMBOS.items()}
    rpast = {f: (fam[f"ret/{f}"] if fam is not None else x) for f, x in rnow.items()}
    ret = choose_with_evidence(
        rpast, rows, y_ret, DEFAULT_RET, max(min_rows, RET_MIN_SELECT_ROWS), lags, RET_SWITCH_P
    )
    families = {f"vol/{f}": x for f, x in now.items()} | {f"ret/{f}": x for f, x in rnow.items()}
    choice = Choice(
        vol_variants=vol_variants,
        vol_weight=w,
        vol=vol,
        ret_variants=ret_variants,
        ret=ret,
        vol_ensemble=dict(zip(ENSEMBLE_POOL, ens_w.round(6).tolist(), strict=True)),
    )
    return choice, families


@dataclass
class WalkForwardResult:
    frame: pl.DataFrame  # one row per forecast row (burn-in included, see `evaluated`)
    blocks: list[dict[str, Any]]
    vol_models: list[str]
    ret_models: list[str]
    config: WalkForwardConfig
    variants: dict[str, np.ndarray]  # every variant's forecasts on the frame's rows
    final_choice: Choice
    first_row: int
    #: The V band's adaptive level after every realised row (what the final model uses).
    vol_band_level: float | None = None


def assemble(panel: Panel, fits: list[BlockFit], cfg: WalkForwardConfig) -> WalkForwardResult:
    """Stage 2: nested prequential selection and conformal bands, block by block."""
    n, first = panel.n, fits[0].block.start
    keys = list(fits[0].preds)
    P = {k: np.full(n, np.nan) for k in keys}
    for f in fits:
        for k in keys:
            P[k][f.block.start : f.block.end] = f.preds[k]
    y_vol, y_ret = panel.y_vol, panel.y_ret
    fam: dict[str, np.ndarray] = {}
    lo_hi = {k: np.full(n, np.nan) for k in ("vol_lo", "vol_hi", "ret_lo", "ret_hi")}
    labelled = panel.labelled
    level = AdaptiveLevel(cfg.interval_level)
    counted = first  # rows before this have already updated the band level

    def update_level(end: int) -> None:
        """Feed the band misses of rows realised in [counted, end) into the adaptive level."""
        nonlocal counted
        new = np.arange(counted, max(counted, end))
        counted = max(counted, end)
        lo, hi = lo_hi["vol_lo"][new], lo_hi["vol_hi"][new]
        new = new[labelled[new] & np.isfinite(lo) & np.isfinite(hi)]
        if new.size:
            y = y_vol[new]
            level.update((y < lo_hi["vol_lo"][new]) | (y > lo_hi["vol_hi"][new]))

    blocks = []
    for f in fits:
        b = f.block
        rows = np.arange(first, max(first, b.train_end))
        rows = rows[labelled[rows]]
        update_level(b.train_end)
        choice, now = choose_all(
            P, rows, y_vol, y_ret, cfg.min_select_rows, fam or None, lags=cfg.horizon - 1
        )
        sl = slice(b.start, b.end)
        for k, x in now.items():
            fam.setdefault(k, np.full(n, np.nan))[sl] = x[sl]
        for kind, pick in (("vol", choice.vol), ("ret", choice.ret)):
            fam.setdefault(f"{kind}/selected", np.full(n, np.nan))[sl] = fam[f"{kind}/{pick}"][sl]
        sel_v, sel_r = fam["vol/selected"], fam["ret/selected"]
        w = recency_weights(b.start - rows, cfg.half_life_rows)
        qv = conformal_bounds(vol_scores(y_vol[rows], sel_v[rows]), level.level, w)
        qr = conformal_bounds(
            ret_scores(y_ret[rows], sel_r[rows], sel_v[rows], cfg.horizon), cfg.interval_level, w
        )
        lo_hi["vol_lo"][sl], lo_hi["vol_hi"][sl] = vol_band(sel_v[sl], qv)
        lo_hi["ret_lo"][sl], lo_hi["ret_hi"][sl] = ret_band(sel_r[sl], sel_v[sl], qr, cfg.horizon)
        blocks.append(
            {
                "start": str(panel.dates[b.start]),
                "end": str(panel.dates[b.end - 1]),
                "train_end": str(panel.dates[b.train_end - 1]),
                "evaluated": b.evaluated,
                "selection_rows": int(rows.size),
                "choice": choice.as_dict(),
                "vol_band_q": [qv[0], qv[1]],
                "vol_band_level": level.level,
                "ret_band_q": [qr[0], qr[1]],
                **f.info,
            }
        )
        log.debug("block %s..%s: %s", blocks[-1]["start"], blocks[-1]["end"], choice)

    # Over all realised OOS rows: the configuration and band level the final model uses.
    update_level(n)
    all_rows = np.arange(first, n)[labelled[first:]]
    final_choice, _ = choose_all(
        P, all_rows, y_vol, y_ret, cfg.min_select_rows, fam, lags=cfg.horizon - 1
    )
    vol_models = [
        *VOL_BENCHMARKS,
        "gjr",
        "harx",
        *(["gbm"] if cfg.use_gbm else []),
        "harx_gjr",
        "selected",  # the ensemble
    ]
    ret_models = [
        *RET_BENCHMARKS,
        "vrp_ct",
        "ridge_ct",
        *(["gbm"] if cfg.use_gbm else []),
        "combo",
        "selected",
    ]
    block_of = np.zeros(n, dtype=np.int64)
    evaluated = np.zeros(n, dtype=bool)
    for i, f in enumerate(fits):
        block_of[f.block.start : f.block.end] = i
        evaluated[f.block.start : f.block.end] = f.block.evaluated
    sl = slice(first, n)
    vol_cols = {
        f"vol_{m}": (P[f"vol/{m}"] if f"vol/{m}" in P else fam[f"vol/{m}"])[sl] for m in vol_models
    }
    ret_cols = {
        f"ret_{m}": (P[f"ret/{m}"] if m in RET_BENCHMARKS else fam[f"ret/{m}"])[sl]
        for m in ret_models
    }
    frame = pl.DataFrame(
        {
            "date": panel.dates[sl],
            "block": block_of[sl],
            "evaluated": evaluated[sl],
            TARGET_VOL: y_vol[sl],
            TARGET_RETURN: y_ret[sl],
            **vol_cols,
            **{k: v[sl] for k, v in lo_hi.items() if k.startswith("vol")},
            **ret_cols,
            **{k: v[sl] for k, v in lo_hi.items() if k.startswith("ret")},
        }
    ).with_columns(pl.col("date").cast(pl.Date), pl.col(TARGET_VOL, TARGET_RETURN).fill_nan(None))
    return WalkForwardResult(
        frame=frame,
        blocks=blocks,
        vol_models=vol_models,
        ret_models=ret_models,
        config=cfg,
        variants={k: v[sl] for k, v in P.items()},
        final_choice=final_choice,
        first_row=first,
        vol_band_level=level.level,
    )


def run_walkforward(panel: Panel, cfg: WalkForwardConfig) -> WalkForwardResult:
    blocks = plan_blocks(panel, cfg)
    jobs = max(1, min(cfg.n_jobs, len(blocks)))
    if jobs == 1:
        fits = [fit_block(panel, b, cfg) for b in blocks]
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            fits = list(pool.map(lambda b: fit_block(panel, b, cfg), blocks))
    return assemble(panel, fits, cfg)
