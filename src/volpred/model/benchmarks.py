"""The yardsticks every candidate must beat, refitted inside the same walk-forward windows.

V: random walk (trailing RV21), HAR-var (Corsi 2009 in variance levels), the VIX as a forecast
(raw, and linearly calibrated on the training window) and GARCH(1,1) (see `garch`).
R: the expanding historical mean of the training targets, and zero.

All are closed-form least squares: fitting them is microseconds, so they cost nothing to run
at every refit. Inputs are the feature matrix `X` with a column-name index `cols`.
"""

from __future__ import annotations

import numpy as np

#: Smallest variance a level regression may forecast (1% annual vol squared): HAR in levels
#: can go negative after a calm spell, and a vol forecast must be positive.
VAR_FLOOR = 1e-4


def ols(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[intercept, slopes] by least squares."""
    A = np.column_stack([np.ones(len(Z)), Z])
    return np.linalg.lstsq(A, y, rcond=None)[0]


def ols_predict(Z: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return coef[0] + Z @ coef[1:]


def har_design(X: np.ndarray, cols: dict[str, int]) -> np.ndarray:
    """Daily, weekly and monthly realised variance (annualised decimals squared)."""
    return X[:, [cols["rv1"], cols["rv5"], cols["rv21"]]] ** 2


def fit_har_var(X: np.ndarray, y_vol: np.ndarray, cols: dict[str, int]) -> np.ndarray:
    return ols(har_design(X, cols), y_vol**2)


def predict_har_var(X: np.ndarray, cols: dict[str, int], coef: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(ols_predict(har_design(X, cols), coef), VAR_FLOOR))


def random_walk(X: np.ndarray, cols: dict[str, int]) -> np.ndarray:
    """Next month's vol = the last month's realised vol."""
    return X[:, cols["rv21"]].copy()


def vix_raw(X: np.ndarray, cols: dict[str, int]) -> np.ndarray:
    """The VIX as a vol forecast (risk-neutral, so biased up by the variance premium)."""
    return X[:, cols["vix"]] / 100.0


def fit_vix_calibrated(X: np.ndarray, y_vol: np.ndarray, cols: dict[str, int]) -> np.ndarray:
    """vol = a + b * VIX/100 on the training window: removes the average premium."""
    return ols(vix_raw(X, cols)[:, None], y_vol)


def predict_vix_calibrated(X: np.ndarray, cols: dict[str, int], coef: np.ndarray) -> np.ndarray:
    return np.maximum(ols_predict(vix_raw(X, cols)[:, None], coef), np.sqrt(VAR_FLOOR))
