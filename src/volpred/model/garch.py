"""GARCH(1,1) / GJR-GARCH(1,1): parameters from `arch`, the variance recursion our own.

Why our own recursion: a walk-forward fits parameters once per refit and must filter them
through the test block without refitting, and the saved model must turn any return history (or
a user's what-if value) into a forecast without `arch` objects. With fixed parameters the GJR
recursion is linear in the variance,

    h[t+1] = omega + (alpha + gamma * 1[e_t < 0]) * e_t^2 + beta * h[t],   e_t = 100 * r_t - mu,

so one `scipy.signal.lfilter` call filters a whole history. Everything is in arch's units
(returns x100, variances in %^2 per day); `state_to_vol`/`vol_to_state` convert the one-day
state to an annualised decimal vol so it can travel as an ordinary feature column.

Parameter vector (numpy, persisted in the model): [mu, omega, alpha, gamma, beta].
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
from scipy.signal import lfilter

from volpred.data.features import TRADING_DAYS

log = logging.getLogger(__name__)

PARAM_NAMES = ("mu", "omega", "alpha", "gamma", "beta")
#: arch-style backcast: the first returns seed the recursion; their effect dies out as beta^t.
BACKCAST_OBS = 75


def fallback_params(ret: np.ndarray) -> np.ndarray:
    """RiskMetrics-like parameters when `arch` fails: persistence 0.99 around the sample var."""
    r = 100 * ret[np.isfinite(ret)]
    var = float(np.var(r)) if r.size > 1 else 1.0
    return np.array([float(np.mean(r)) if r.size else 0.0, 0.01 * var, 0.05, 0.0, 0.94])


def fit_garch(ret: np.ndarray, asymmetric: bool, dist: str = "normal") -> np.ndarray:
    """Fit (GJR-)GARCH(1,1) with a constant mean on decimal daily log returns (NaNs skipped)."""
    return estimate(ret, asymmetric, dist)[0]


def estimate(
    ret: np.ndarray, asymmetric: bool, dist: str = "normal", start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """`fit_garch`'s parameters and arch's own parameter vector (None for the fallback).

    `start`: an earlier estimate's arch vector, which halves the optimiser's work when the
    sample has only grown (it converges to the same optimum within about 1e-5).
    """
    from arch import arch_model  # imported lazily: only training needs arch

    r = 100 * ret[np.isfinite(ret)]
    if r.size < 100:
        return fallback_params(ret), None
    model = arch_model(
        r, mean="Constant", vol="GARCH", p=1, o=int(asymmetric), q=1, dist=dist, rescale=False
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp="off", show_warning=False, starting_values=start)
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - arch edge cases
        log.warning("GARCH fit failed (%s); using fallback parameters", exc)
        return fallback_params(ret), None
    p = res.params
    params = np.array(
        [p["mu"], p["omega"], p["alpha[1]"], p["gamma[1]"] if asymmetric else 0.0, p["beta[1]"]],
        dtype=float,
    )
    if start is not None and res.convergence_flag != 0:
        return estimate(ret, asymmetric, dist)
    if res.convergence_flag != 0 or not np.all(np.isfinite(params)) or persistence(params) >= 1:
        log.warning(
            "GARCH fit did not converge to a stationary model (%s); using fallback",
            params.round(4).tolist(),
        )
        return fallback_params(ret), None
    return params, np.asarray(res.params, dtype=float)


def persistence(params: np.ndarray) -> float:
    """alpha + gamma/2 + beta: symmetric innovations are negative half the time."""
    _, _, alpha, gamma, beta = params
    return float(alpha + 0.5 * gamma + beta)


def variance_path(ret: np.ndarray, params: np.ndarray) -> np.ndarray:
    """h[t] = conditional variance (%^2) of day t+1's return given returns through day t.

    Row t uses returns of rows <= t only. A missing return contributes its expected squared
    shock (the unconditional variance), i.e. it carries no news.
    """
    mu, omega, alpha, gamma, beta = params
    e = 100 * np.asarray(ret, dtype=float) - mu
    finite = np.isfinite(e)
    e2 = np.where(finite, e, 0.0) ** 2
    first = e2[finite][:BACKCAST_OBS]
    backcast = float(first.mean()) if first.size else 1.0
    p = persistence(params)
    unconditional = omega / (1 - p) if p < 1 else backcast
    shock = np.where(finite, (alpha + gamma * (e < 0)) * e2, (alpha + 0.5 * gamma) * unconditional)
    out, _ = lfilter([1.0], [1.0, -beta], omega + shock, zi=np.array([beta * backcast]))
    return out


def state_to_vol(h: np.ndarray) -> np.ndarray:
    """One-day variance in %^2 -> annualised decimal vol (the `garch_vol` feature)."""
    return np.sqrt(np.maximum(h, 0.0) * TRADING_DAYS) / 100.0


def vol_to_state(vol: np.ndarray) -> np.ndarray:
    return (np.asarray(vol) * 100.0) ** 2 / TRADING_DAYS


def horizon_weights(params: np.ndarray, horizon: int) -> tuple[float, float]:
    """(a, b) with mean_{k=1..h} E[h_{t+k}] = a * h_{t+1} + b, valid for any persistence.

    E[h_{t+k}] = p^(k-1) h_{t+1} + omega * (1 + p + ... + p^(k-2)).
    """
    omega, p = float(params[1]), persistence(params)
    powers = p ** np.arange(horizon)
    partial = np.concatenate([[0.0], np.cumsum(powers)[:-1]])
    return float(powers.mean()), float(omega * partial.mean())


def forecast_coefficients(params: np.ndarray, horizon: int) -> np.ndarray:
    """[a, c] with forecast vol^2 = a * garch_vol^2 + c, all annualised decimals.

    Precomputed once per fit so a prediction is two flops and a sqrt. c adds mu^2: the target
    is the non-demeaned realised vol (sum of squared returns).
    """
    a, b = horizon_weights(params, horizon)
    return np.array([a, (b + params[0] ** 2) * TRADING_DAYS / 1e4])


def forecast_from_coefficients(garch_vol: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(coef[0] * garch_vol**2 + coef[1], 0.0))


def forecast_vol(garch_vol: np.ndarray, params: np.ndarray, horizon: int) -> np.ndarray:
    """Annualised vol forecast over the next `horizon` days from the one-day state."""
    return forecast_from_coefficients(garch_vol, forecast_coefficients(params, horizon))


def describe(params: np.ndarray) -> dict[str, float]:
    """JSON-able parameters plus persistence and unconditional vol, for logs and metrics."""
    out = {name: float(v) for name, v in zip(PARAM_NAMES, params, strict=True)}
    p = persistence(params)
    out["persistence"] = p
    out["unconditional_vol"] = (
        math.sqrt(params[1] / (1 - p) * TRADING_DAYS) / 100 if p < 1 else float("nan")
    )
    return out
