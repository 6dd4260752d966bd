"""The saved model: the configuration the walk-forward chose, refitted on all labelled rows.

`VolpredModel.predict(X)` takes a 2-D array whose columns are `feature_names`: the cleaned
table's features that were usable at train time (see `features.FEATURES` for their
definitions, in that order) followed by `garch_vol`, the GJR-GARCH one-day conditional vol
(annualised decimal) as of the row's close. `garch_vol` is the only history-dependent input:
`feature_matrix(table, model)` filters it from the table's `ret` history with the model's own
GARCH parameters (the same code the walk-forward used), so a date from the cleaned table gets
exactly the state training saw. A what-if row may leave any input NaN: `garch_vol` then defaults
to a linear map of the realised-vol inputs fitted on the training rows (what GARCH usually says
given those RVs), every other input to its training median; `what_if_rows` builds rows from a
dict and recomputes derived inputs (VIX variance, VRP, VRP ratio) from the ones given.

The state is plain numpy arrays, floats, strings, lists and dicts (plus a fitted scikit-learn
estimator only if gradient boosting was chosen), so skops can persist it and the prediction is a
few numpy operations: one dot product per target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from volpred.data.features import TRADING_DAYS
from volpred.model import benchmarks as bm
from volpred.model import estimators as cand
from volpred.model import garch
from volpred.model.intervals import conformal_bounds, recency_weights, ret_scores, vol_scores
from volpred.model.walkforward import (
    ENSEMBLE,
    ENSEMBLE_POOL,
    GARCH_COL,
    Choice,
    Panel,
    WalkForwardConfig,
    WalkForwardResult,
    augmented,
    select_features,
)

OUTPUT_KEYS = ("ret", "ret_lo", "ret_hi", "vol", "vol_lo", "vol_hi")
#: Inputs that explain the GARCH state when a what-if row omits it.
GARCH_DEFAULT_INPUTS = ("rv1", "rv5", "rv21", "rv63")
#: HAR's inputs (daily, weekly, monthly RV), as `benchmarks.har_design` reads them.
HAR_COLS = ("rv1", "rv5", "rv21")


class VolpredModel:
    """Forecasts of the next `horizon` days' log return and realised vol, with 80% bands.

    Attributes (all plain types; `version` is set by the saver):
    feature_names   input columns of `predict`, in order
    horizon         trading days ahead
    vol_kind        "ensemble" (what the walk-forward serves) | "harx" | "gjr" | "harx_gjr" |
                    "gbm"; harx_weight = HAR-X share in harx_gjr; ensemble_weights = weights of
                    (HAR-X, GJR, calibrated VIX, HAR) in the ensemble
    ret_kind        "hist_mean" | "vrp_ct" | "ridge_ct" | "gbm" | "combo"
    vol_band/ret_band  conformal quantiles of log(vol ratio) / standardised return error
    info            JSON-able description: choice, hyperparameters, training period
    """

    def __init__(self, **state: Any) -> None:
        self.version: str | None = None
        self.__dict__.update(state)

    # -------------------------------------------------------------------------- prediction
    def complete(self, X: np.ndarray) -> np.ndarray:
        """Fill NaN inputs: `garch_vol` from the RV inputs, others with training medians."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected {len(self.feature_names)} columns {self.feature_names}, got {X.shape[1]}"
            )
        nan = np.isnan(X)
        if not nan.any():
            return X
        X = np.where(nan, self.fill_values, X)
        no_state = nan[:, self.garch_index]
        if no_state.any():
            Z = X[no_state][:, self.garch_default_cols] ** 2
            var = Z @ self.garch_default_coef[1:] + self.garch_default_coef[0]
            X[no_state, self.garch_index] = np.sqrt(np.maximum(var, cand.MIN_VOL**2))
        return X

    def predict_vol(self, X: np.ndarray) -> np.ndarray:
        kind = self.vol_kind
        if kind == "gbm":
            D = cand.design(X, self.vol_design)
            return cand.predict_gbm_vol(D, X[:, self.vix_index], self.gbm_vol)
        gjr = garch.forecast_from_coefficients(X[:, self.garch_index], self.garch_forecast)
        if kind == "gjr":
            return gjr
        harx = cand.predict_harx(cand.design(X, self.vol_design), X[:, self.vix_index], self.harx)
        if kind == ENSEMBLE:
            cols = {"vix": self.vix_index, **dict(zip(HAR_COLS, self.har_cols, strict=True))}
            vix_cal = bm.predict_vix_calibrated(X, cols, self.vix_cal_coef)
            har = bm.predict_har_var(X, cols, self.har_coef)
            return np.column_stack([harx, gjr, vix_cal, har]) @ self.ensemble_weights
        w = self.harx_weight
        return harx if kind == "harx" else w * harx + (1.0 - w) * gjr

    def predict_ret(self, X: np.ndarray) -> np.ndarray:
        kind = self.ret_kind
        if kind == "hist_mean":
            return np.full(len(X), self.ret_mean)
        if kind in ("vrp_ct", "combo"):
            vrp = cand.truncate(
                X[:, self.ret_linear["cols"]] @ self.ret_linear["coef"]
                + self.ret_linear["intercept"]
            )
            return vrp if kind == "vrp_ct" else 0.5 * (vrp + self.ret_mean)
        D = cand.design(X, self.ret_design)
        if kind == "gbm":
            return cand.predict_gbm_ret(D, self.ret_gbm)
        return cand.truncate(cand.linear(D, self.ret_linear))

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Point forecasts and bands for each row of X (columns = `feature_names`).

        Keys: ret, ret_lo, ret_hi (horizon log return), vol, vol_lo, vol_hi (annualised).
        """
        X = self.complete(X)
        vol = self.predict_vol(X)
        ret = self.predict_ret(X)
        scale = vol * self.ret_scale
        return {
            "ret": ret,
            "ret_lo": ret + self.ret_band[0] * scale,
            "ret_hi": ret + self.ret_band[1] * scale,
            "vol": vol,
            "vol_lo": vol * self.vol_band_factor[0],
            "vol_hi": vol * self.vol_band_factor[1],
        }

    def __repr__(self) -> str:
        return (
            f"VolpredModel(vol={self.vol_kind}, ret={self.ret_kind}, horizon={self.horizon}, "
            f"version={self.version!r})"
        )


# ------------------------------------------------------------------------- inputs for predict


def feature_matrix(table: pl.DataFrame, model: VolpredModel) -> np.ndarray:
    """The model's inputs for every row of a cleaned table (rows in table order).

    `garch_vol` is filtered from the whole `ret` history with the model's GARCH parameters;
    row t uses returns through t only. Missing values stay NaN (`predict` fills them).
    """
    base = [n for n in model.feature_names if n != GARCH_COL]
    X = table.select(pl.col(base).cast(pl.Float64)).to_numpy().astype(float, copy=True)
    state = garch.state_to_vol(
        garch.variance_path(
            table["ret"].cast(pl.Float64).fill_null(float("nan")).to_numpy(), model.garch_params
        )
    )
    out = np.empty((len(X), len(model.feature_names)))
    out[:, [model.feature_names.index(n) for n in base]] = X
    out[:, model.garch_index] = state
    out[~np.isfinite(out)] = np.nan
    return out


def predict_table(model: VolpredModel, table: pl.DataFrame) -> pl.DataFrame:
    """date + every prediction key for each row of a cleaned table."""
    out = model.predict(feature_matrix(table, model))
    return pl.DataFrame({"date": table["date"], **out})


def what_if_rows(
    model: VolpredModel, records: Mapping[str, float] | Sequence[Mapping[str, float]]
) -> np.ndarray:
    """Rows for `predict` from user values; unknown names are an error, absent ones NaN.

    Derived inputs a user cannot be expected to keep consistent are recomputed from the ones
    given unless given too: vix_var_month from vix; vrp and vrp_ratio from vix and rv21; rv1
    from ret.
    """
    records = [records] if isinstance(records, Mapping) else list(records)
    index = {n: i for i, n in enumerate(model.feature_names)}
    X = np.full((len(records), len(index)), np.nan)
    for r, values in enumerate(records):
        unknown = set(values) - set(index)
        if unknown:
            raise ValueError(f"unknown inputs {sorted(unknown)}; known: {model.feature_names}")
        v = {k: float(x) for k, x in values.items() if x is not None}
        if "vix" in v:
            v.setdefault("vix_var_month", (v["vix"] / 100) ** 2 / 12)
            if "rv21" in v and v["rv21"] > 0:
                v.setdefault("vrp", v["vix_var_month"] - v["rv21"] ** 2 / 12)
                v.setdefault("vrp_ratio", v["vix"] / (100 * v["rv21"]))
        if "ret" in v:
            v.setdefault("rv1", abs(v["ret"]) * math.sqrt(TRADING_DAYS))
        for k, x in v.items():
            if k in index:
                X[r, index[k]] = x
    return X


# ------------------------------------------------------------------------------- fitting


def _variant_lambda(variant: str) -> tuple[float, str]:
    """ "harx@0.1/var" -> (0.1, "var")."""
    lam, kind = variant.split("@", 1)[1].split("/")
    return float(lam), kind


def final_bands(
    result: WalkForwardResult, choice: Choice, cfg: WalkForwardConfig
) -> tuple[tuple[float, float], tuple[float, float], int]:
    """Conformal quantiles from the chosen configuration's walk-forward OOS residuals (all
    realised rows, recency-weighted as in the walk-forward, ages measured from the last row);
    the V band at the walk-forward's adaptive level after its last realised row."""
    f = result.frame
    yv, yr = f["target_vol"].to_numpy().astype(float), f["target_ret"].to_numpy().astype(float)
    pv = f["vol_selected" if choice.vol == ENSEMBLE else f"vol_{choice.vol}"].to_numpy()
    pv = pv.astype(float)
    pr = f[f"ret_{choice.ret}"].to_numpy().astype(float)
    rows = np.flatnonzero(np.isfinite(yv) & np.isfinite(yr) & np.isfinite(pv) & np.isfinite(pr))
    w = recency_weights(len(f) - rows, cfg.half_life_rows)
    level = result.vol_band_level or cfg.interval_level
    qv = conformal_bounds(vol_scores(yv[rows], pv[rows]), level, w)
    qr = conformal_bounds(
        ret_scores(yr[rows], pr[rows], pv[rows], cfg.horizon), cfg.interval_level, w
    )
    return qv, qr, int(rows.size)


def fit_final(panel: Panel, result: WalkForwardResult, cfg: WalkForwardConfig) -> VolpredModel:
    """Refit the walk-forward's final choice on every labelled row."""
    choice = result.final_choice
    gjr_params = garch.fit_garch(panel.ret, asymmetric=True, dist="t")
    Xa, names = augmented(panel, panel.n, gjr_params)
    labelled = np.flatnonzero(panel.labelled)
    keep, dropped = select_features(Xa[labelled], names, cfg.min_feature_share)
    Xa, names = Xa[:, keep], [names[i] for i in keep]
    cols = {n: i for i, n in enumerate(names)}
    tr = labelled[np.all(np.isfinite(Xa[labelled]), axis=1)]
    Xtr, yv, yr = Xa[tr], panel.y_vol[tr], panel.y_ret[tr]
    base = [n for n in names if n != GARCH_COL]
    vol_design = cand.design_spec(base)
    ret_design = cand.design_spec(base, returns=True)
    Dtr, Rtr = cand.design(Xtr, vol_design), cand.design(Xtr, ret_design)
    vix = Xtr[:, cols["vix"]]

    harx, weight, gbm_vol = None, 1.0, None
    ensemble: dict[str, Any] = {}
    harx_variant = choice.vol_variants.get("harx")
    if choice.vol in ("harx", "harx_gjr", ENSEMBLE):
        lam, kind = _variant_lambda(harx_variant)
        harx = cand.fit_harx(Dtr, vix, yv, lam)[kind]
        weight = choice.vol_weight if choice.vol == "harx_gjr" else 1.0
    if choice.vol == ENSEMBLE:
        har_coef = bm.fit_har_var(Xtr, yv, cols)
        ensemble = {
            "ensemble_weights": np.array([choice.vol_ensemble[m] for m in ENSEMBLE_POOL]),
            "vix_cal_coef": bm.fit_vix_calibrated(Xtr, yv, cols),
            "har_coef": har_coef,
            "har_cols": [cols[c] for c in HAR_COLS],
        }
    elif choice.vol == "gjr":
        weight = 0.0
    elif choice.vol == "gbm":
        key = choice.vol_variants["gbm"].split("@", 1)[1]
        gbm_vol = cand.fit_gbm_vol(Dtr, vix, yv, cand.GBM_VOL_VARIANTS[key], cfg.seed)

    ret_linear: dict[str, Any] | None = None
    ret_gbm = None
    if choice.ret in ("vrp_ct", "combo"):
        if "vrp" in cols:
            fit = cand.fit_vrp_ct(Xtr[:, cols["vrp"]], yr)
            ret_linear = fit | {"cols": np.array([cols["vrp"]], dtype=np.int64)}
        else:
            ret_linear = {
                "cols": np.array([0], dtype=np.int64),
                "coef": np.zeros(1),
                "intercept": float(np.mean(yr)),
            }
    elif choice.ret == "ridge_ct":
        lam = float(choice.ret_variants["ridge_ct"].split("@", 1)[1])
        ret_linear = cand.fit_ridge(Rtr, yr, lam)
    elif choice.ret == "gbm":
        ret_gbm = cand.fit_gbm_ret(Rtr, yr, cfg.seed)

    g_inputs = [c for c in GARCH_DEFAULT_INPUTS if c in cols]
    g_cols = np.array([cols[c] for c in g_inputs], dtype=np.int64)
    A = np.column_stack([np.ones(len(tr)), Xtr[:, g_cols] ** 2])
    g_coef = np.linalg.lstsq(A, Xtr[:, cols[GARCH_COL]] ** 2, rcond=None)[0]

    qv, qr, n_resid = final_bands(result, choice, cfg)
    dates = panel.dates[tr]
    info = {
        "train_start": str(dates[0]),
        "train_end": str(dates[-1]),
        "train_rows": int(tr.size),
        "choice": choice.as_dict(),
        "dropped_features": dropped,
        "gjr": garch.describe(gjr_params),
        "vol_terms": vol_design["terms"],
        "ret_terms": ret_design["terms"],
        "harx_coef": None
        if harx is None
        else {
            "intercept": harx["intercept"],
            "smear": harx["smear"],
            **dict(zip(vol_design["terms"], harx["coef"].tolist(), strict=True)),
        },
        "ensemble_weights": choice.vol_ensemble if choice.vol == ENSEMBLE else None,
        "interval_level": cfg.interval_level,
        "vol_band_level": result.vol_band_level or cfg.interval_level,
        "band_residual_rows": n_resid,
        "vol_band_log_q": list(qv),
        "ret_band_z_q": list(qr),
    }
    return VolpredModel(
        feature_names=names,
        horizon=cfg.horizon,
        level=cfg.interval_level,
        vol_kind=choice.vol,
        ret_kind=choice.ret,
        harx=harx,
        harx_weight=float(weight),
        gbm_vol=gbm_vol,
        garch_params=gjr_params,
        garch_forecast=garch.forecast_coefficients(gjr_params, cfg.horizon),
        vol_design=vol_design,
        ret_design=ret_design,
        ret_linear=ret_linear,
        ret_gbm=ret_gbm,
        ret_mean=float(np.mean(yr)),
        fill_values=np.median(Xtr, axis=0),
        garch_index=cols[GARCH_COL],
        vix_index=cols["vix"],
        garch_default_cols=g_cols,
        garch_default_coef=g_coef,
        vol_band=np.array(qv),
        ret_band=np.array(qr),
        vol_band_factor=np.exp(np.array(qv)),
        ret_scale=math.sqrt(cfg.horizon / TRADING_DAYS),
        info=info,
        **ensemble,
    )
