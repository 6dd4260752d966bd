"""The candidate families' estimators: designs, fits and forecasts as plain numpy functions.

V candidates
- HAR-X: ridge (standardised, scikit-learn Pipeline) of log(forward variance / VIX^2) on log
  RV terms (daily, weekly, monthly, quarterly), log VIX^2, log range vols (Parkinson,
  Garman-Klass), the VRP as the log ratio VIX^2 / RV21^2, term spread and the last day's /
  month's return (leverage). Logs make the model multiplicative: a crisis scales every input
  up and the forecast with it, where a level model extrapolates poorly; the VIX offset makes
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
saved model predicts with one dot product; the Pipeline is only the fitting tool. The families
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
#: single day's squared return is often ~0, so rv1 gets a real epsilon (1% vol squared); for
#: the others eps only guards against log(0).
LOG_VAR_TERMS: dict[str, tuple[float, float]] = {
    "rv5": (1.0, 1e-6),
    "rv21": (1.0, 1e-6),
    "rv63": (1.0, 1e-6),
    "parkinson21": (1.0, 1e-6),
    "garman_klass21": (1.0, 1e-6),
    "vix": (0.01, 1e-6),
    "vrp_ratio": (1.0, 1e-6),
    "rv1": (1.0, 1e-4),
}
#: Linear terms: column -> scale (VRP x12 puts it in annual variance units like the others).
LINEAR_TERMS: dict[str, float] = {"term_spread": 1.0, "ret": 1.0, "mom21": 1.0}
RET_EXTRA_TERMS: dict[str, float] = {"vrp": 12.0, "drawdown": 1.0, "dgs10": 1.0}
MIN_VOL = 1e-3


def design_spec(feature_names: list[str], returns: bool = False) -> dict[str, Any]:
    """Which columns enter the design, and how; absent columns (e.g. no OHLC) simply drop out.

    Plain lists and arrays only: the spec is stored in the saved model.
    """
    cols = {n: i for i, n in enumerate(feature_names)}
    logs = [c for c in LOG_VAR_TERMS if c in cols]
    lin = [c for c in (LINEAR_TERMS | (RET_EXTRA_TERMS if returns else {})) if c in cols]
    lin_scale = LINEAR_TERMS | RET_EXTRA_TERMS
    return {
        "terms": [f"log_var({c})" for c in logs] + lin,
        "log_cols": np.array([cols[c] for c in logs], dtype=np.int64),
        "log_scale": np.array([LOG_VAR_TERMS[c][0] for c in logs], dtype=float),
        "log_eps": np.array([LOG_VAR_TERMS[c][1] for c in logs], dtype=float),
        "lin_cols": np.array([cols[c] for c in lin], dtype=np.int64),
        "lin_scale": np.array([lin_scale[c] for c in lin], dtype=float),
    }


def design(X: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """The model inputs from raw feature values (NaN-free X), in `spec["terms"]` order.

    Written into one preallocated array with few numpy calls: this runs on every API request.
    """
    k = spec["log_cols"].size
    out = np.empty((X.shape[0], k + spec["lin_cols"].size))
    z = X[:, spec["log_cols"]] * spec["log_scale"]
    np.log(z * z + spec["log_eps"], out=out[:, :k])
    np.multiply(X[:, spec["lin_cols"]], spec["lin_scale"], out=out[:, k:])
    return out


def _export(pipe: Pipeline) -> dict[str, Any]:
    """Standardiser + linear model -> coefficients on the raw design (one dot product)."""
    scaler, model = pipe.steps[0][1], pipe.steps[1][1]
    coef = model.coef_ / scaler.scale_
    return {"coef": coef, "intercept": float(model.intercept_ - coef @ scaler.mean_)}


def fit_ridge(D: np.ndarray, y: np.ndarray, lam: float) -> dict[str, Any]:
    """Standardise + ridge (penalty lam per observation), exported to raw-scale coefficients."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=lam * len(y)))])
    return _export(pipe.fit(D, y))


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


def fit_harx_ridge(
    D: np.ndarray, vix: np.ndarray, y_vol: np.ndarray, lam: float
) -> tuple[dict[str, Any], np.ndarray]:
    """The ridge on log(forward var / VIX^2) and its residuals (for the smearing)."""
    target = vix_log_ratio(vix, y_vol)
    ridge = fit_ridge(D, target, lam)
    return ridge, target - linear(D, ridge)


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
