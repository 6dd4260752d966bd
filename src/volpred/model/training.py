"""train_model: walk-forward evaluation of every model and benchmark, then the final refit.

`train(table, settings)` is pure (no files): it returns the fitted `VolpredModel`, a JSON-able
metrics dict, the out-of-sample predictions (for the report and dashboard) and the chosen
hyperparameters. Saving (skops file, model card, versions) is the caller's job.

Walk-forward settings are read from `settings` when present, else defaults:
refit_every=21 (monthly), garch_refit_every=252, min_train_years=9 (OOS from the 10th year),
selection_years=4 (burn-in used only to choose models before the first OOS block),
wf_gap=horizon, interval_level=0.8, interval_half_life_years=3, train_jobs=1. The served V
forecast is an ensemble of HAR-X, GJR, the calibrated VIX and HAR (see
`volpred.model.walkforward`); its band level adapts to realised misses.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from volpred.config import Settings
from volpred.model.evaluation import DEFAULT_SINCE, evaluate, evidence, per_year_vs_reference
from volpred.model.final import VolpredModel, fit_final
from volpred.model.walkforward import (
    WalkForwardConfig,
    WalkForwardResult,
    panel_from_table,
    run_walkforward,
)

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model: VolpredModel
    metrics: dict[str, Any]
    predictions: pl.DataFrame
    hyperparameters: dict[str, Any]
    walkforward: WalkForwardResult = field(repr=False)
    seconds: float = 0.0


def jsonable(obj: Any) -> Any:
    """Plain JSON types; non-finite floats (e.g. a test of a model against itself) -> None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def _num(x: float | None, digits: int = 5) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _headline(metrics: dict[str, Any], sample: str) -> dict[str, Any]:
    s = metrics[sample]
    v, r = s["vol"], s["ret"]
    return {
        "n": s["n"],
        "first": s["first"],
        "last": s["last"],
        "vol": {m: {"r2": x["r2"], "rmse": x["rmse"], "qlike": x["qlike"]} for m, x in v.items()},
        "ret": {
            m: {"r2": x["r2"], "rmse": x["rmse"], "oos_r2_hist_mean": x["oos_r2"]["hist_mean"]}
            for m, x in r.items()
        },
    }


def hyperparameters(result: WalkForwardResult, model: VolpredModel) -> dict[str, Any]:
    cfg = result.config
    return jsonable(
        {
            "walkforward": dict(cfg.__dict__),
            "final": model.info["choice"],
            "per_block": [
                {
                    "start": b["start"],
                    "train_end": b["train_end"],
                    "evaluated": b["evaluated"],
                    **b["choice"],
                }
                for b in result.blocks
            ],
        }
    )


def train(table: pl.DataFrame, settings: Settings, **overrides: Any) -> TrainResult:
    """Walk-forward on the cleaned table, metrics, final refit on all labelled rows.

    `overrides` replace walk-forward fields (tests use small windows).
    """
    started = time.perf_counter()
    cfg = WalkForwardConfig.from_settings(settings, **overrides)
    panel = panel_from_table(table)
    log.info(
        "train_model start: %d rows %s..%s, horizon %d, refit every %d rows, gap %d, "
        "OOS from year %g of the data, %d%% bands",
        panel.n,
        panel.dates[0],
        panel.dates[-1],
        cfg.horizon,
        cfg.refit_every,
        cfg.gap,
        cfg.min_train_years + 1,
        round(100 * cfg.interval_level),
    )
    result = run_walkforward(panel, cfg)
    wf_seconds = time.perf_counter() - started
    metrics = evaluate(result, since=DEFAULT_SINCE)
    model = fit_final(panel, result, cfg)
    hyper = hyperparameters(result, model)
    metrics["per_year_selected_vs_har"] = per_year_vs_reference(metrics)
    metrics["evidence"] = evidence(result)
    metrics["headline"] = {
        "overall": _headline(metrics, "overall"),
        f"from_{DEFAULT_SINCE}": _headline(metrics, f"from_{DEFAULT_SINCE}"),
    }
    metrics["final_model"] = model.info
    metrics["blocks"] = result.blocks
    metrics["walkforward_seconds"] = wf_seconds
    metrics = jsonable(metrics)

    overall = metrics["overall"]
    if not overall["n"]:
        log.warning("train_model: no labelled out-of-sample rows; nothing to score")
        overall = {"vol": {}, "ret": {}}
    for kind in ("vol", "ret"):
        for name, m in overall[kind].items():
            log.info(
                "train_model OOS %s %-9s R2 %s RMSE %s", kind, name, _num(m["r2"]), _num(m["rmse"])
            )
    if overall["vol"]:
        sel_v, har, sel_r = (
            overall["vol"]["selected"],
            overall["vol"]["har"],
            overall["ret"]["selected"],
        )
        dm, cw = sel_v.get("dm_mse") or {}, sel_r.get("clark_west") or {}
        log.info(
            "train_model V selected vs HAR: RMSE %+.1f%%, QLIKE %+.1f%%, DM(MSE) t=%s p=%s",
            100 * (sel_v["rmse"] / har["rmse"] - 1),
            100 * (sel_v["qlike"] / har["qlike"] - 1),
            _num(dm.get("t")),
            _num(dm.get("p")),
        )
        log.info(
            "train_model R selected: OOS R2 vs historical mean %+.4f, Clark-West t=%s p=%s",
            sel_r["oos_r2"]["hist_mean"] or 0.0,
            _num(cw.get("t")),
            _num(cw.get("p")),
        )
    if "intervals" in overall:
        log.info(
            "train_model band coverage (target %.0f%%): vol %.1f%%, ret %.1f%%; adaptive vol "
            "band level now %.1f%%",
            100 * cfg.interval_level,
            100 * overall["intervals"]["vol_coverage"],
            100 * overall["intervals"]["ret_coverage"],
            100 * model.info["vol_band_level"],
        )
    log.info(
        "train_model hyperparameters: final %s; dropped features %s",
        model.info["choice"],
        model.info["dropped_features"],
    )
    seconds = time.perf_counter() - started
    log.info(
        "train_model end: final model %r fitted on %d rows %s..%s in %.1f s (walk-forward %.1f s)",
        model,
        model.info["train_rows"],
        model.info["train_start"],
        model.info["train_end"],
        seconds,
        wf_seconds,
    )
    return TrainResult(
        model=model,
        metrics=metrics,
        predictions=result.frame,
        hyperparameters=hyper,
        walkforward=result,
        seconds=seconds,
    )
