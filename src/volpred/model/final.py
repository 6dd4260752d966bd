"""The saved model: the configuration the walk-forward chose, refitted on all labelled rows.

`VolpredModel.predict(X)` takes a 2-D array whose columns are `feature_names`: the cleaned
table's features that were usable at train time (see `features.FEATURES` for their
definitions, in that order) followed by `garch_vol`, the GJR-GARCH one-day conditional vol
(annualised decimal) as of the row's close. `garch_vol` is the only history-dependent input:
`feature_matrix(table, model)` filters it from the table's `ret` history with the model's own
GARCH parameters (the same code the walk-forward used), so a date from the cleaned table gets
exactly the state training saw. A what-if row may leave `garch_vol` NaN: it then follows a
linear map of the realised-vol inputs fitted on the training rows (what GARCH usually says given
those RVs); `what_if_rows` builds rows from a dict and recomputes derived inputs (VIX variance,
VRP, VRP ratio) from the ones given.

No other input is ever filled in. A row missing an input is answered by a fallback that does
not read it, fitted in the same window and stored in the same file (the HAR-X design without
that group, the combination without the member that needs it, the historical mean for the
return), and `predict` says per row which model answered (`vol_model`, `ret_model`); where
nothing can, the forecast is NaN and the caller refuses it, naming the input.

The forecasters are the registry's own family objects (`families.Fitted`: a variant and its
state, or a combination of fitted members), so the served forecast is computed by the code the
walk-forward scored. Their state is plain numpy arrays, floats, strings, lists and dicts (plus a
fitted scikit-learn estimator only if gradient boosting was chosen): skops persists it with the
classes listed in `store.TRUSTED_TYPES`, and a prediction is a few numpy operations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from volpred.data.features import TRADING_DAYS
from volpred.model import estimators as cand
from volpred.model import garch
from volpred.model.design import GARCH_COL, Inputs, Train, window
from volpred.model.families import (
    FAMILIES,
    HARX_GJR,
    RET_COMBO,
    VOL_ENSEMBLE,
    Family,
    Fitted,
    HarX,
    only,
)
from volpred.model.intervals import conformal_bounds, recency_weights, ret_scores, vol_scores
from volpred.model.walkforward import (
    ENSEMBLE,
    Choice,
    Panel,
    WalkForwardConfig,
    WalkForwardResult,
)

OUTPUT_KEYS = ("ret", "ret_lo", "ret_hi", "vol", "vol_lo", "vol_hi")
#: Per-row names of the forecasters that answered (see `VolpredModel.predict`).
ANSWER_KEYS = ("vol_model", "ret_model")
#: Inputs that explain the GARCH state when a what-if row omits it.
GARCH_DEFAULT_INPUTS = ("rv1", "rv5", "rv21", "rv63")


#: The layout of a saved `VolpredModel`'s state; a file of another layout is refused on load
#: (`store.load_file`) instead of failing at its first forecast.
MODEL_FORMAT = 3


def named(labels: np.ndarray, primary: str) -> np.ndarray:
    """Per-row fallback labels with the primary forecaster's name where none was needed."""
    return np.array([primary if lab is None else lab for lab in labels], dtype=object)


class VolpredModel:
    """Forecasts of the next `horizon` days' log return and realised vol, with 80% bands.

    Attributes (plain types and the families' fitted objects; `version` is set by the saver):
    feature_names   input columns of `predict`, in order
    horizon         trading days ahead
    vol, ret        the fitted forecasters (`families.Fitted`): a family variant and its state,
                    or a combination of fitted members with their weights
    ret_fallback    the historical mean, for rows the return forecaster cannot answer
    vol_kind        "ensemble" (what the walk-forward serves) | "harx" | "gjr" | "harx_gjr" |
                    "gbm"; the name of `vol`'s family or combination
    ret_kind        "hist_mean" | "vrp_ct" | "ridge_ct" | "gbm" | "combo"
    vol_band/ret_band  conformal quantiles of log(vol ratio) / standardised return error
    info            JSON-able description: choice, hyperparameters, training period
    format          MODEL_FORMAT when fitted
    """

    def __init__(self, **state: Any) -> None:
        self.version: str | None = None
        self.__dict__.update(state)

    # -------------------------------------------------------------------------- prediction
    def complete(self, X: np.ndarray) -> np.ndarray:
        """Rows as the forecasters read them: a missing `garch_vol` follows the RV inputs; any
        other missing input stays missing (the forecasters answer without it, or not at all)."""
        X = np.array(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected {len(self.feature_names)} columns {self.feature_names}, got {X.shape[1]}"
            )
        no_state = np.isnan(X[:, self.garch_index])
        if no_state.any():
            Z = X[no_state][:, self.garch_default_cols] ** 2
            var = Z @ self.garch_default_coef[1:] + self.garch_default_coef[0]
            X[no_state, self.garch_index] = np.sqrt(np.maximum(var, cand.MIN_VOL**2))
        return X

    def inputs(self, X: np.ndarray) -> Inputs:
        """Completed rows as the fitted forecasters read them."""
        return Inputs(
            X=X,
            cols={n: i for i, n in enumerate(self.feature_names)},
            vol_spec=self.vol_design,
            ret_spec=self.ret_design,
        )

    def answer_vol(self, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        """The vol forecast and, per row, the forecaster that answered (None: none could)."""
        vol, labels = self.vol.answer(x)
        return vol, np.where(np.isfinite(vol), named(labels, self.vol_kind), None)

    def answer_ret(self, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        """The return forecast, the historical mean where the chosen model cannot answer."""
        ret, labels = self.ret.answer(x)
        ok = np.isfinite(ret)
        names = named(labels, self.ret_kind)
        if ok.all():
            return ret, names
        fallback = self.ret_fallback.predict(x)
        return np.where(ok, ret, fallback), np.where(ok, names, self.ret_fallback.model.name)

    def predict_vol(self, X: np.ndarray) -> np.ndarray:
        """The vol forecast of completed rows X."""
        return self.answer_vol(self.inputs(X))[0]

    def predict_ret(self, X: np.ndarray) -> np.ndarray:
        """The return forecast of completed rows X."""
        return self.answer_ret(self.inputs(X))[0]

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Point forecasts and bands for each row of X (columns = `feature_names`).

        Keys: ret, ret_lo, ret_hi (horizon log return), vol, vol_lo, vol_hi (annualised; NaN
        where no forecaster has the inputs it needs), and per row the name of the forecaster
        that answered: `vol_model` (`vol_kind`, a fallback's description such as "ensemble
        without harx, vix_cal", or None) and `ret_model`.
        """
        x = self.inputs(self.complete(X))
        vol, vol_model = self.answer_vol(x)
        ret, ret_model = self.answer_ret(x)
        scale = vol * self.ret_scale
        return {
            "ret": ret,
            "ret_lo": ret + self.ret_band[0] * scale,
            "ret_hi": ret + self.ret_band[1] * scale,
            "vol": vol,
            "vol_lo": vol * self.vol_band_factor[0],
            "vol_hi": vol * self.vol_band_factor[1],
            "vol_model": vol_model,
            "ret_model": ret_model,
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


def final_bands(
    result: WalkForwardResult, choice: Choice, cfg: WalkForwardConfig
) -> tuple[tuple[float, float], tuple[float, float], int]:
    """Conformal quantiles from the chosen configuration's walk-forward OOS residuals (all
    realised rows, recency-weighted as in the walk-forward, ages measured from the last row);
    the V band at the walk-forward's adaptive level after its last realised row."""
    f = result.frame
    yv, yr = f["target_vol"].to_numpy().astype(float), f["target_ret"].to_numpy().astype(float)
    own = choice is result.final_choice  # the served history, as each block's bands used it
    pv = f["vol_selected" if own or choice.vol == ENSEMBLE else f"vol_{choice.vol}"].to_numpy()
    pv = pv.astype(float)
    pr = f["ret_selected" if own else f"ret_{choice.ret}"].to_numpy().astype(float)
    rows = np.flatnonzero(np.isfinite(yv) & np.isfinite(yr) & np.isfinite(pv) & np.isfinite(pr))
    w = recency_weights(len(f) - rows, cfg.half_life_rows)
    level = result.vol_band_level or cfg.interval_level
    qv = conformal_bounds(vol_scores(yv[rows], pv[rows]), level, w)
    qr = conformal_bounds(
        ret_scores(yr[rows], pr[rows], pv[rows], cfg.horizon), cfg.interval_level, w
    )
    return qv, qr, int(rows.size)


def fit_forecaster(name: str, target: str, choice: Choice, train: Train) -> Fitted:
    """The chosen family (its chosen variant) or combination of the choice, fitted on `train`."""
    chosen = choice.vol_variants if target == "vol" else choice.ret_variants

    def member(family: str) -> Fitted:
        variant: Family = chosen.get(family, FAMILIES[target][family][0])
        return Fitted(variant, variant.fit(train))

    if target == "vol" and name == VOL_ENSEMBLE.name:
        weights = np.array([choice.vol_ensemble[m] for m in VOL_ENSEMBLE.members])
        return VOL_ENSEMBLE.fitted(tuple(member(m) for m in VOL_ENSEMBLE.members), weights)
    for pair, weight in ((HARX_GJR, choice.vol_weight), (RET_COMBO, RET_COMBO.default)):
        if pair.target == target and name == pair.name:
            return pair.fitted(*(member(m) for m in pair.members), weight)
    return member(name)


def fit_final(panel: Panel, result: WalkForwardResult, cfg: WalkForwardConfig) -> VolpredModel:
    """Refit the walk-forward's final choice on every labelled row, through the same pipeline."""
    choice = result.final_choice
    w = window(panel, panel.n, panel.n, panel.n, cfg)
    train, cols = w.train, w.train.cols
    vol = fit_forecaster(choice.vol, "vol", choice, train)
    ret = fit_forecaster(choice.ret, "ret", choice, train)
    harx_part = next((p for p in vol.parts() if isinstance(p.model, HarX)), None)
    harx = None if harx_part is None else harx_part.model.main_fit(harx_part.state)
    hist_mean = only("ret", "hist_mean")

    g_inputs = [c for c in GARCH_DEFAULT_INPUTS if c in cols]
    g_cols = np.array([cols[c] for c in g_inputs], dtype=np.int64)
    A = np.column_stack([np.ones(w.rows.size), train.X[:, g_cols] ** 2])
    g_coef = np.linalg.lstsq(A, train.X[:, cols[GARCH_COL]] ** 2, rcond=None)[0]

    qv, qr, n_resid = final_bands(result, choice, cfg)
    dates = panel.dates[w.rows]
    vol_terms = train.vol_spec["terms"] if harx is None else harx["spec"]["terms"]
    info = {
        "train_start": str(dates[0]),
        "train_end": str(dates[-1]),
        "train_rows": int(w.rows.size),
        "choice": choice.as_dict(),
        "dropped_features": w.dropped,
        "gjr": garch.describe(train.gjr_params),
        "vol_terms": vol_terms,
        "ret_terms": train.ret_spec["terms"],
        "harx_coef": None
        if harx is None
        else {
            "intercept": harx["intercept"],
            "smear": harx["smear"],
            **dict(zip(vol_terms, harx["coef"].tolist(), strict=True)),
        },
        "ensemble_weights": choice.vol_ensemble if choice.vol == ENSEMBLE else None,
        "interval_level": cfg.interval_level,
        "vol_band_level": result.vol_band_level or cfg.interval_level,
        "band_residual_rows": n_resid,
        "vol_band_log_q": list(qv),
        "ret_band_z_q": list(qr),
    }
    return VolpredModel(
        format=MODEL_FORMAT,
        feature_names=w.names,
        horizon=cfg.horizon,
        level=cfg.interval_level,
        vol_kind=choice.vol,
        ret_kind=choice.ret,
        vol=vol,
        ret=ret,
        garch_params=train.gjr_params,
        vol_design=train.vol_spec,
        ret_design=train.ret_spec,
        ret_fallback=Fitted(hist_mean, hist_mean.fit(train)),
        garch_index=cols[GARCH_COL],
        garch_default_cols=g_cols,
        garch_default_coef=g_coef,
        vol_band=np.array(qv),
        ret_band=np.array(qr),
        vol_band_factor=np.exp(np.array(qv)),
        ret_scale=math.sqrt(cfg.horizon / TRADING_DAYS),
        info=info,
    )
