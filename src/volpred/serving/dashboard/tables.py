"""The model card's metrics as tables an analyst can sort: per model for a period, and per
year for one metric. Pure functions of the card (a dict from the API's /model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

#: Columns of the summary table per target, in reading order (nested ones as outer:inner).
SUMMARY = {
    "vol": ["rmse", "mae", "qlike", "r2", "oos_r2:har", "oos_r2:vix", "oos_r2:rw", "dm_qlike:p"],
    "ret": ["rmse", "mae", "r2", "hit_rate", "oos_r2:hist_mean", "oos_r2:zero", "clark_west:p"],
}
#: Headers for the tests' p-values: the card compares each model with the target's base
#: benchmark (HAR for vol, the historical mean for returns).
LABELS = {
    "dm_qlike:p": "DM p vs har (qlike)",
    "clark_west:p": "Clark-West p vs hist_mean",
}


def _metric(entry: Mapping[str, Any], metric: str) -> float | None:
    """`metric` of one model's entry; `oos_r2:har` reads the nested out-of-sample R²."""
    if ":" in metric:
        outer, inner = metric.split(":", 1)
        value = (entry.get(outer) or {}).get(inner)
    else:
        value = entry.get(metric)
    return float(value) if isinstance(value, int | float) else None


def metric_table(card: Mapping[str, Any], target: str, metric: str) -> pl.DataFrame:
    """Year x model table of `metric` for `target` ("vol" or "ret") from the model card."""
    by_year = (card.get("metrics") or {}).get("by_year") or {}
    rows = []
    for year, block in sorted(by_year.items()):
        models = block.get(target) or {}
        rows.append({"year": int(year)} | {m: _metric(e, metric) for m, e in models.items()})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def metric_names(card: Mapping[str, Any], target: str) -> list[str]:
    """The metrics the card has for `target`, nested ones as `outer:inner` (e.g. oos_r2:har)."""
    names: set[str] = set()
    for block in ((card.get("metrics") or {}).get("by_year") or {}).values():
        for entry in (block.get(target) or {}).values():
            for key, value in entry.items():
                if isinstance(value, int | float) and key != "n":
                    names.add(key)
                elif key == "oos_r2" and isinstance(value, dict):
                    names.update(f"oos_r2:{k}" for k in value)
    return sorted(names)


def summary_table(card: Mapping[str, Any], period: str, target: str) -> pl.DataFrame:
    """One row per model (the selected one first) for `period` ("overall", "from_2010") and
    `target`, with the metrics of `SUMMARY` that the card has."""
    block = ((card.get("metrics") or {}).get(period) or {}).get(target) or {}
    if not block:
        return pl.DataFrame()
    models = sorted(block, key=lambda m: (m != "selected", m))
    wanted = [m for m in SUMMARY[target] if any(_metric(block[x], m) is not None for x in models)]
    rows = [
        {"model": m, "n": block[m].get("n")}
        | {LABELS.get(k, k): _metric(block[m], k) for k in wanted}
        for m in models
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


def period_span(card: Mapping[str, Any], period: str) -> str:
    block = (card.get("metrics") or {}).get(period) or {}
    return f"{block.get('first', '?')} to {block.get('last', '?')}, {block.get('n', '?')} days"


#: The evidence table's columns: what each predictor group adds out of sample.
EVIDENCE = ["rmse_change", "dm_mse_p", "qlike_change", "dm_qlike_p", "chosen_share", "selected"]


def evidence_table(card: Mapping[str, Any]) -> pl.DataFrame:
    """One row per predictor group (realized measures, asymmetry, VIX dynamics, macro): HAR-X
    with every group against without it (negative change: the group helps), its
    Diebold-Mariano p-values, the share of blocks that chose it and whether the served model
    uses it. Empty for a card without the table."""
    groups = ((card.get("metrics") or {}).get("evidence") or {}).get("groups") or {}
    return pl.DataFrame(
        [{"group": g} | {k: e.get(k) for k in EVIDENCE} for g, e in groups.items()],
        schema={
            "group": pl.String,
            **{k: pl.Float64 for k in EVIDENCE[:-1]},
            "selected": pl.Boolean,
        },
    )
