"""Score a walk-forward: every model and benchmark, both targets, overall / from a year / per year.

Only evaluated (non-burn-in), labelled rows count. V is compared with HAR (DM on squared vol
errors and on QLIKE), R with the historical mean (DM and Clark-West); Newey-West lags = h - 1,
the overlap of consecutive h-day targets. The result is a JSON-able dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from volpred.data.features import TARGET_RETURN, TARGET_VOL
from volpred.model import metrics as m
from volpred.model.estimators import PREDICTOR_GROUPS
from volpred.model.families import HARX_LAMBDAS, RET_BENCHMARKS, VOL_BENCHMARKS, HarX
from volpred.model.walkforward import WalkForwardResult

VOL_REFERENCE = "har"
RET_REFERENCE = "hist_mean"
DEFAULT_SINCE = 2010
#: VIX regimes (points, on the forecast date) the bands' coverage is reported by.
VIX_REGIMES: dict[str, tuple[float, float]] = {
    "vix<20": (0.0, 20.0),
    "vix20-30": (20.0, 30.0),
    "vix>30": (30.0, float("inf")),
}
DECADE_YEARS = 10


def _arrays(frame: pl.DataFrame, prefix: str, models: list[str]) -> dict[str, np.ndarray]:
    return {name: frame[f"{prefix}_{name}"].to_numpy().astype(float) for name in models}


def score_sample(
    frame: pl.DataFrame, vol_models: list[str], ret_models: list[str], lags: int
) -> dict[str, Any]:
    """All metrics on one set of rows (already filtered); an empty sample has n = 0 only."""
    if frame.height == 0:
        return {"n": 0, "first": None, "last": None, "vol": {}, "ret": {}}
    yv = frame[TARGET_VOL].to_numpy().astype(float)
    yr = frame[TARGET_RETURN].to_numpy().astype(float)
    pv, pr = _arrays(frame, "vol", vol_models), _arrays(frame, "ret", ret_models)
    vb = {b: pv[b] for b in VOL_BENCHMARKS if b in pv}
    rb = {b: pr[b] for b in RET_BENCHMARKS if b in pr}
    vol = {name: m.vol_metrics(yv, p, vb, VOL_REFERENCE, lags) for name, p in pv.items()}
    ret = {name: m.ret_metrics(yr, p, rb, RET_REFERENCE, lags) for name, p in pr.items()}
    out: dict[str, Any] = {
        "n": int(frame.height),
        "first": str(frame["date"].min()),
        "last": str(frame["date"].max()),
        "vol": vol,
        "ret": ret,
    }
    if "vol_lo" in frame.columns:
        out["intervals"] = {
            "vol_coverage": m.coverage(yv, frame["vol_lo"].to_numpy(), frame["vol_hi"].to_numpy()),
            "ret_coverage": m.coverage(yr, frame["ret_lo"].to_numpy(), frame["ret_hi"].to_numpy()),
            "vol_mean_width": float((frame["vol_hi"] - frame["vol_lo"]).mean()),
            "ret_mean_width": float((frame["ret_hi"] - frame["ret_lo"]).mean()),
        }
    return out


def evaluation_rows(result: WalkForwardResult) -> pl.DataFrame:
    cols = [f"vol_{x}" for x in result.vol_models] + [f"ret_{x}" for x in result.ret_models]
    return result.frame.filter(
        pl.col("evaluated")
        & pl.col(TARGET_VOL).is_not_null()
        & pl.col(TARGET_RETURN).is_not_null()
        & pl.all_horizontal(pl.col(cols).is_finite())
    )


def evaluate(result: WalkForwardResult, since: int = DEFAULT_SINCE) -> dict[str, Any]:
    """Overall, from `since`, and per calendar year (of the forecast date)."""
    rows = evaluation_rows(result)
    lags = max(result.config.horizon - 1, 0)
    models = (result.vol_models, result.ret_models)
    by_year = {
        str(year): score_sample(part, *models, lags)
        for (year,), part in rows.group_by(pl.col("date").dt.year(), maintain_order=True)
    }
    by_regime = {}
    if "vix" in rows.columns:
        for name, (lo, hi) in VIX_REGIMES.items():
            part = rows.filter((pl.col("vix") >= lo) & (pl.col("vix") < hi))
            by_regime[name] = score_sample(part, *models, lags) | {"share": _share(part, rows)}
    first = rows["date"].dt.year().min() if rows.height else None
    by_decade = {}
    if first is not None:
        last = rows["date"].dt.year().max()
        for start in range(first, last + 1, DECADE_YEARS):
            end = min(start + DECADE_YEARS - 1, last)
            part = rows.filter(pl.col("date").dt.year().is_between(start, end))
            by_decade[f"{start}-{end}"] = score_sample(part, *models, lags)
    return {
        "overall": score_sample(rows, *models, lags),
        f"from_{since}": score_sample(
            rows.filter(pl.col("date").dt.year() >= since), *models, lags
        ),
        "by_year": by_year,
        "by_vix_regime": by_regime,
        "by_decade": by_decade,
        "lags": lags,
    }


def _share(part: pl.DataFrame, rows: pl.DataFrame) -> float:
    return part.height / rows.height if rows.height else 0.0


def per_year_vs_reference(metrics: dict[str, Any], model: str = "selected") -> dict[str, Any]:
    """Year by year: the model's RMSE and QLIKE relative to HAR (negative = better)."""
    out = {}
    for year, sample in metrics["by_year"].items():
        v = sample["vol"]
        out[year] = {
            "rmse_change": v[model]["rmse"] / v[VOL_REFERENCE]["rmse"] - 1,
            "qlike_change": v[model]["qlike"] / v[VOL_REFERENCE]["qlike"] - 1,
        }
    return out


def evidence(result: WalkForwardResult) -> dict[str, Any] | None:
    """What each predictor group adds out of sample: HAR-X with every group against HAR-X
    without that one (same penalty and loss as the served model's HAR-X), on the evaluated
    rows (the variance ridge when the Gamma GLM was chosen, which has no group variants);
    with Diebold-Mariano tests on both losses (negative change = the group helps), the
    share of blocks whose chosen HAR-X had the group, and whether the served model's has it."""
    chosen = result.final_choice.vol_variants.get("harx")
    if not isinstance(chosen, HarX):
        return None
    if chosen.kind == "gamma":  # fitted on the base terms only: compare the ridge for the variance
        chosen = HarX(HARX_LAMBDAS[0], "var", chosen.groups)
    f = result.frame
    keep = (
        f["evaluated"].to_numpy()
        & f[TARGET_VOL].is_not_null().to_numpy()
        & f[TARGET_RETURN].is_not_null().to_numpy()
    )
    y = f[TARGET_VOL].to_numpy().astype(float)
    full = HarX(chosen.lam, chosen.kind, PREDICTOR_GROUPS)
    blocks = [b for b in result.blocks if b["evaluated"]]
    lags = max(result.config.horizon - 1, 0)
    groups: dict[str, Any] = {}
    n = 0
    for g in PREDICTOR_GROUPS:
        without = HarX(chosen.lam, chosen.kind, tuple(x for x in PREDICTOR_GROUPS if x != g))
        a, b = result.variants.get(full.series), result.variants.get(without.series)
        if a is None or b is None:
            return None
        rows = keep & np.isfinite(a) & np.isfinite(b)
        n = int(rows.sum())
        if n < 2:
            return None
        ya, pa, pb = y[rows], a[rows], b[rows]
        se_a, se_b = (ya - pa) ** 2, (ya - pb) ** 2
        ql_a, ql_b = m.qlike_losses(ya, pa), m.qlike_losses(ya, pb)
        groups[g] = {
            "rmse_change": float(np.sqrt(se_a.mean() / se_b.mean()) - 1),
            "dm_mse_p": m.diebold_mariano(se_a, se_b, lags)["p"],
            "qlike_change": float(ql_a.mean() / ql_b.mean() - 1),
            "dm_qlike_p": m.diebold_mariano(ql_a, ql_b, lags)["p"],
            "chosen_share": float(np.mean([g in b.get("harx_groups", []) for b in blocks]))
            if blocks
            else 0.0,
            "selected": g in chosen.groups,
        }
    return {"variant": chosen.key, "n": n, "groups": groups}
