"""The candidate families' estimators: designs, fits and forecasts as plain numpy functions.

V candidates
- HAR-X: standardised ridge of log(forward variance / VIX^2) on log RV terms (daily, weekly,
  monthly, quarterly), log VIX^2, log range vols (Parkinson, Garman-Klass), the VRP as the log
  ratio VIX^2 / RV21^2, term spread and the last day's / month's return (leverage), plus the
  predictor groups a variant adds (`TERM_GROUPS`). Logs make the model multiplicative: a crisis
  scales every input up and the forecast with it, where a level model extrapolates poorly; the
  VIX offset makes
  the shrinkage pull towards "the VIX with a constant premium" instead of towards the mean.
  Loss / back-transform (a hyperparameter, the HAR-X `kind`): "vol" and "var" are the ridge on
  log variance with Duan's smearing unbiased for the vol (mean(exp(res / 2)): what RMSE
  rewards) or for the variance (sqrt(mean(exp(res))): what QLIKE rewards); "gamma" is a Gamma
  GLM with log link (L2-penalised, same terms and VIX offset), whose deviance is 2 x QLIKE: it
  models E[RV] itself, so forecasts after calm spells leave room for the spikes that follow
  some of them.
- Gradient boosting (HistGradientBoostingRegressor) on the same terms, predicting the
  scale-free log(forward variance / VIX^2): trees cannot extrapolate above the largest target
  seen in training, a ratio to the VIX can.
R candidates (Campbell-Thompson: forecasts truncated at zero; a wrong-signed VRP slope falls
back to the historical mean): VRP (level, monthly variance units) regression, a heavily
shrunk ridge on the same terms plus the VRP, drawdown and the 10y yield, and gradient boosting.

The fitted state of the linear models is exported to plain numpy (`coef`, `intercept`) so the
saved model predicts with one dot product; the ridge is solved in closed form, the Gamma GLM by
a scikit-learn Pipeline. The families
and their hyperparameter grids are in `families`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

# scikit-learn is imported inside the fitting functions: loading a saved linear model to
# predict (the API's path) then costs no sklearn import, which takes seconds.

#: log(var + eps) terms: column -> (scale to an annualised decimal vol, eps). The VIX is in
#: points; vrp_ratio = VIX / RV21, so its log is the variance risk premium as a log ratio. A
#: single day's squared return is often ~0, so rv1 and irv1 get a real epsilon (1% vol
#: squared); for the others eps only guards against log(0). Initial claims are a count: their
#: log is what matters, the scale only keeps the numbers small.
LOG_VAR_TERMS: dict[str, tuple[float, float]] = {
    "rv5": (1.0, 1e-6),
    "rv21": (1.0, 1e-6),
    "rv63": (1.0, 1e-6),
    "parkinson21": (1.0, 1e-6),
    "garman_klass21": (1.0, 1e-6),
    "vix": (0.01, 1e-6),
    "vrp_ratio": (1.0, 1e-6),
    "rv1": (1.0, 1e-4),
    "rs_neg21": (1.0, 1e-6),
    "irv1": (1.0, 1e-4),
    "irv5": (1.0, 1e-6),
    "irv21": (1.0, 1e-6),
    "irs_neg21": (1.0, 1e-6),
    "icsa": (1e-6, 1e-6),
}
#: Linear terms: column -> scale (VRP x12 puts it in annual variance units like the others).
LINEAR_TERMS: dict[str, float] = {
    "term_spread": 1.0,
    "ret": 1.0,
    "mom21": 1.0,
    "lev5": 1.0,
    "lev21": 1.0,
    "vix_rel63": 1.0,
    "vix_chg5": 1.0,
    "vix_chg21": 1.0,
    "vrp_neg": 1.0,
    "ijump21": 1.0,
    "anfci": 1.0,
    "stlfsi4": 1.0,
    "bamlh0a0hym2": 1.0,
    "bamlc0a0cm": 1.0,
    "cfnai": 1.0,
}
RET_EXTRA_TERMS: dict[str, float] = {"vrp": 12.0, "drawdown": 1.0, "dgs10": 1.0}
#: Predictor groups: the columns each contributes to a design (as log-variance or linear terms,
#: see above). "base" is in every design. The others are what a family variant may add, and
#: what the evidence table credits: realized measures (5-minute data), asymmetry (negative
#: semivariance and leverage: Patton & Sheppard 2015, Corsi & Renò 2012), VIX dynamics (the VIX
#: against its recent level, its changes, the premium's sign) and macro and credit conditions.
TERM_GROUPS: dict[str, tuple[str, ...]] = {
    "base": (
        "rv1", "rv5", "rv21", "rv63", "parkinson21", "garman_klass21", "vix", "vrp_ratio",
        "ret", "mom21", "drawdown",
    ),
    "rates": ("term_spread", "dgs10"),
    "asymmetry": ("rs_neg21", "lev5", "lev21"),
    "vix_dynamics": ("vix_rel63", "vix_chg5", "vix_chg21", "vrp_neg"),
    "realized": ("irv1", "irv5", "irv21", "irs_neg21", "ijump21"),
    "macro": ("anfci", "stlfsi4", "bamlh0a0hym2", "bamlc0a0cm", "cfnai", "icsa"),
}  # fmt: skip
#: Groups whose source can start partway through the history (intraday data, a macro series)
#: or end before the SPX does (a Treasury download): a design with them is fitted on the rows
#: that have them, beside one without them that forecasts the rows that do not.
OPTIONAL_GROUPS = ("rates", "realized", "macro")
#: The groups the evidence table reports (every group but "base" and "rates").
PREDICTOR_GROUPS = ("realized", "asymmetry", "vix_dynamics", "macro")
#: Columns of a table that a design may read: every group's.
DESIGN_COLUMNS = tuple(dict.fromkeys(c for cols in TERM_GROUPS.values() for c in cols))
#: Terms a fitted design holds within their training range (`bound_to`): macro and credit
#: levels reach values never seen in training in a crisis (credit spreads in late 2008), where a
#: linear term extrapolates without limit. Volatility terms are left free: a forecast must scale
#: with a crisis the training window never saw.
BOUNDED_TERMS = frozenset(TERM_GROUPS["macro"])
#: The fewest training rows a design with an optional group is fitted on; with fewer the
#: design without it answers.
MIN_GROUP_ROWS = 504
MIN_VOL = 1e-3


def design_spec(
    feature_names: list[str], groups: tuple[str, ...] = ("rates",), returns: bool = False
) -> dict[str, Any]:
    """Which columns enter the design, and how: the "base" group's and those of `groups`
    (plus the R terms with `returns`); absent columns (e.g. no OHLC) simply drop out.

    Plain lists and arrays only: the spec is stored in the saved model.
    """
    cols = {n: i for i, n in enumerate(feature_names)}
    allowed = {c for g in ("base", *groups) for c in TERM_GROUPS[g]}
    lin_scale = LINEAR_TERMS | RET_EXTRA_TERMS
    linear = [c for c in lin_scale if c in allowed and c not in RET_EXTRA_TERMS]
    if returns:
        linear += [c for c in RET_EXTRA_TERMS if c in allowed or c == "vrp"]
    logs = [c for c in LOG_VAR_TERMS if c in cols and c in allowed]
    lin = [c for c in linear if c in cols]
    k = len(logs) + len(lin)
    return {
        "terms": [f"log_var({c})" for c in logs] + lin,
        "bounded": [c in BOUNDED_TERMS for c in [*logs, *lin]],
        "lo": np.full(k, -np.inf),
        "hi": np.full(k, np.inf),
        "groups": [g for g in groups if any(c in cols for c in TERM_GROUPS[g])],
        "log_cols": np.array([cols[c] for c in logs], dtype=np.int64),
        "log_scale": np.array([LOG_VAR_TERMS[c][0] for c in logs], dtype=float),
        "log_eps": np.array([LOG_VAR_TERMS[c][1] for c in logs], dtype=float),
        "lin_cols": np.array([cols[c] for c in lin], dtype=np.int64),
        "lin_scale": np.array([lin_scale[c] for c in lin], dtype=float),
    }


def spec_columns(spec: dict[str, Any]) -> np.ndarray:
    """The input columns a design reads."""
    return np.concatenate([spec["log_cols"], spec["lin_cols"]])


def design(X: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """The model inputs from raw feature values, in `spec["terms"]` order; a missing input
    gives a NaN row (the families route such rows to a design without it).

    Written into one preallocated array with few numpy calls: this runs on every API request.
    """
    k = spec["log_cols"].size
    out = np.empty((X.shape[0], k + spec["lin_cols"].size))
    z = X[:, spec["log_cols"]] * spec["log_scale"]
    np.log(z * z + spec["log_eps"], out=out[:, :k])
    np.multiply(X[:, spec["lin_cols"]], spec["lin_scale"], out=out[:, k:])
    if any(spec["bounded"]):
        np.clip(out, spec["lo"], spec["hi"], out=out)
    return out


def bound_to(spec: dict[str, Any], D: np.ndarray) -> dict[str, Any]:
    """The spec with its bounded terms held to the range they take in the training design D."""
    bounded = np.asarray(spec["bounded"], dtype=bool)
    if not bounded.any() or not len(D):
        return spec
    lo, hi = spec["lo"].copy(), spec["hi"].copy()
    lo[bounded], hi[bounded] = D[:, bounded].min(axis=0), D[:, bounded].max(axis=0)
    return spec | {"lo": lo, "hi": hi}


def _export(pipe: Pipeline) -> dict[str, Any]:
    """Standardiser + linear model -> coefficients on the raw design (one dot product)."""
    scaler, model = pipe.steps[0][1], pipe.steps[1][1]
    coef = model.coef_ / scaler.scale_
    return {"coef": coef, "intercept": float(model.intercept_ - coef @ scaler.mean_)}


def ridge_moments(D: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """What a standardised ridge needs of (D, y), whatever its penalty: means, scales (1 for a
    constant column, as StandardScaler does) and the standardised cross products."""
    mean = D.mean(axis=0)
    scale = D.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (D - mean) / scale
    y_mean = float(y.mean())
    return {
        "mean": mean,
        "scale": scale,
        "y_mean": y_mean,
        "ZZ": Z.T @ Z,
        "Zy": Z.T @ (y - y_mean),
        "n": len(y),
    }


def ridge_from_moments(m: dict[str, Any], lam: float) -> dict[str, Any]:
    """The ridge of penalty lam per observation (intercept unpenalised) on the moments,
    exported to raw-scale coefficients."""
    A = m["ZZ"].copy()
    A[np.diag_indices_from(A)] += lam * m["n"]
    coef = np.linalg.solve(A, m["Zy"]) / m["scale"]
    return {"coef": coef, "intercept": float(m["y_mean"] - coef @ m["mean"])}


def fit_ridge(D: np.ndarray, y: np.ndarray, lam: float) -> dict[str, Any]:
    """Standardise + ridge (penalty lam per observation, intercept unpenalised), exported to
    raw-scale coefficients: scikit-learn's StandardScaler + Ridge, solved in closed form on
    the centred moments (the walk-forward fits thousands of these; the Pipeline's overhead
    was most of their cost, and the moments are shared by every penalty)."""
    return ridge_from_moments(ridge_moments(D, y), lam)


def fit_gamma(D: np.ndarray, ratio: np.ndarray, lam: float) -> dict[str, Any]:
    """Standardise + Gamma GLM, log link; its alpha is on the same per-observation scale."""
    from sklearn.linear_model import GammaRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("glm", GammaRegressor(alpha=lam, solver="newton-cholesky", max_iter=200)),
        ]
    )
    return _export(pipe.fit(D, ratio))


def linear(D: np.ndarray, fit: dict[str, Any]) -> np.ndarray:
    return D @ fit["coef"] + fit["intercept"]


def log_var(y_vol: np.ndarray) -> np.ndarray:
    return 2.0 * np.log(np.maximum(y_vol, MIN_VOL))


def vix_log_ratio(vix: np.ndarray, y_vol: np.ndarray) -> np.ndarray:
    """log(forward var / VIX^2): what HAR-X and boosting model.

    Why the VIX offset: the shrinkage pulls towards "VIX times a constant premium", a forecast
    that scales with the market, instead of towards the unconditional mean (a ridge on log var
    itself under-forecasts exactly when volatility explodes, as in 2008).
    """
    return log_var(y_vol) - log_var(vix / 100.0)


def smear(resid: np.ndarray, kind: str) -> float:
    """Duan's smearing factor unbiased for the vol ("vol") or for the variance ("var")."""
    if kind == "vol":
        return float(np.mean(np.exp(0.5 * resid)))
    return float(np.sqrt(np.mean(np.exp(resid))))


def fit_harx_gamma(D: np.ndarray, vix: np.ndarray, y_vol: np.ndarray, lam: float) -> dict:
    """The Gamma GLM of forward var / VIX^2: it models E[RV] itself, so no smearing."""
    return fit_gamma(D, np.exp(vix_log_ratio(vix, y_vol)), lam) | {"smear": 1.0}


def predict_harx(D: np.ndarray, vix: np.ndarray, fit: dict[str, Any]) -> np.ndarray:
    """vol = VIX/100 * exp(linear / 2) * smear."""
    return np.maximum(vix / 100.0, MIN_VOL) * np.exp(0.5 * linear(D, fit)) * fit["smear"]


def _hgb(params: dict[str, Any], seed: int) -> HistGradientBoostingRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=seed, **params)


def threadpool_limits(limits: int, user_api: str) -> Any:
    """threadpoolctl's context manager, imported on first use (it scans loaded libraries)."""
    from threadpoolctl import threadpool_limits as limit

    return limit(limits=limits, user_api=user_api)


def fit_gbm_vol(
    D: np.ndarray, vix: np.ndarray, y_vol: np.ndarray, params: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Boosting on log(forward var / VIX^2); one OpenMP thread (much faster on small data)."""
    target = vix_log_ratio(vix, y_vol)
    with threadpool_limits(limits=1, user_api="openmp"):
        model = _hgb(params, seed).fit(D, target)
        resid = target - model.predict(D)
    return {"model": model, "smear": float(np.mean(np.exp(0.5 * resid)))}


def predict_gbm_vol(D: np.ndarray, vix: np.ndarray, fit: dict[str, Any]) -> np.ndarray:
    with threadpool_limits(limits=1, user_api="openmp"):
        ratio = fit["model"].predict(D)
    return np.maximum(vix / 100.0, MIN_VOL) * np.exp(0.5 * ratio) * fit["smear"]


def fit_vrp_ct(vrp: np.ndarray, y_ret: np.ndarray) -> dict[str, Any]:
    """Return on the VRP; a non-positive slope (theory says positive) -> historical mean."""
    A = np.column_stack([np.ones(len(vrp)), vrp])
    intercept, slope = np.linalg.lstsq(A, y_ret, rcond=None)[0]
    if slope <= 0:
        intercept, slope = float(np.mean(y_ret)), 0.0
    return {"coef": np.array([slope]), "intercept": float(intercept)}


def truncate(pred: np.ndarray) -> np.ndarray:
    """Campbell-Thompson: an expected equity return below zero is not credible; use zero."""
    return np.maximum(pred, 0.0)


def fit_gbm_ret(
    D: np.ndarray, y_ret: np.ndarray, params: dict[str, Any], seed: int
) -> dict[str, Any]:
    with threadpool_limits(limits=1, user_api="openmp"):
        return {"model": _hgb(params, seed).fit(D, y_ret)}


def predict_gbm_ret(D: np.ndarray, fit: dict[str, Any]) -> np.ndarray:
    with threadpool_limits(limits=1, user_api="openmp"):
        return truncate(fit["model"].predict(D))
