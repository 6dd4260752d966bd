"""predict(): the one way every consumer (API, dashboard, report) gets forecasts.

A `Forecaster` pairs a loaded model with the cleaned table's model inputs and the model's
forecast for every cleaned row, computed once at load (one vectorised call): a date request is
then a row lookup, which is what lets the API answer it about as fast as a health check. A
what-if request builds its row from the user's values (`models.final.what_if_rows`), optionally
on top of a date's inputs. Both return the same records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from volpred.config import Settings
from volpred.model.card import ModelCard
from volpred.model.final import (
    ANSWER_KEYS,
    GARCH_DEFAULT_INPUTS,
    VolpredModel,
    feature_matrix,
    what_if_rows,
)
from volpred.model.store import load_version

#: Inputs recomputed from others when a what-if row changes those (see `what_if_rows`).
DERIVED = {"vix_var_month": ("vix",), "vrp": ("vix", "rv21"), "vrp_ratio": ("vix", "rv21")}
DERIVED_RV1 = ("rv1", ("ret",))


class PredictionInputError(ValueError):
    """A request the model cannot answer (date outside the data, unknown input...)."""


@dataclass
class Forecaster:
    model: VolpredModel
    card: ModelCard
    dates: np.ndarray  # datetime64[D], sorted
    X: np.ndarray  # model inputs per cleaned row
    outputs: dict[str, np.ndarray]  # model.predict(X): the forecast for every cleaned row

    @property
    def version(self) -> str:
        return str(self.card.version)

    @property
    def synthetic(self) -> bool:
        """Whether the model was trained on the synthetic sample: every answer says so."""
        return self.card.data.synthetic

    @property
    def latest_date(self) -> date:
        return self.dates[-1].astype(object)


def load_forecaster(
    settings: Settings, version: str | None = None, table: pl.DataFrame | None = None
) -> Forecaster:
    """Load `version` (default: latest) and precompute its inputs and forecasts for every
    cleaned row (of `table`, default: the cleaned checkpoint)."""
    model, card = load_version(settings.artifacts_dir, version)
    model.version = card.version
    if table is None:
        table = pl.read_parquet(settings.cleaned_parquet_path)
    table = table.sort("date")
    X = feature_matrix(table, model)
    return Forecaster(
        model=model,
        card=card,
        dates=table["date"].to_numpy().astype("datetime64[D]"),
        X=X,
        outputs=model.predict(X),
    )


def resolve_dates(forecaster: Forecaster, requested: Sequence[str | date]) -> np.ndarray:
    """Row index of each date: `latest`, a trading day, or the last trading day before it."""
    first, last = forecaster.dates[0], forecaster.dates[-1]
    rows = []
    for value in requested:
        if isinstance(value, str) and value.lower() == "latest":
            rows.append(len(forecaster.dates) - 1)
            continue
        try:
            day = np.datetime64(value, "D")
        except ValueError as exc:
            raise PredictionInputError(f"not a date: {value!r} (use YYYY-MM-DD)") from exc
        if day < first or day > last:
            raise PredictionInputError(f"date {day} is outside the data ({first} .. {last})")
        rows.append(int(np.searchsorted(forecaster.dates, day, side="right")) - 1)
    return np.asarray(rows, dtype=np.int64)


def _records(
    forecaster: Forecaster, out: dict[str, np.ndarray], as_of: list[str | None]
) -> list[dict[str, Any]]:
    keys = [k for k in out if k not in ANSWER_KEYS]
    records = []
    for i, day in enumerate(as_of):
        values = {k: float(out[k][i]) for k in keys}
        if not all(math.isfinite(v) for v in values.values()):
            raise PredictionInputError(
                f"the model cannot forecast from these inputs (row {i}): a value is missing "
                "or out of range"
            )
        records.append(
            values
            | {
                "horizon_days": forecaster.model.horizon,
                "as_of": day,
                "model_version": forecaster.version,
                "synthetic_data": forecaster.synthetic,
            }
        )
    return records


def _on_date(
    forecaster: Forecaster, row: int, changes: Mapping[str, float | None]
) -> dict[str, float]:
    """A what-if row: the inputs of cleaned row `row` with `changes` applied; inputs derived
    from a changed one are dropped so that `what_if_rows` recomputes them, and the GARCH state
    too when a realized-vol input changes (it then follows the given RVs, not that day)."""
    names = forecaster.model.feature_names
    base = dict(zip(names, forecaster.X[row].tolist(), strict=True))
    changed = set(changes)
    for name, sources in (*DERIVED.items(), DERIVED_RV1):
        if changed & set(sources) and name not in changed:
            base.pop(name, None)
    if changed & set(GARCH_DEFAULT_INPUTS) and "garch_vol" not in changed:
        base.pop("garch_vol", None)
    return {k: v for k, v in base.items() if math.isfinite(v)} | dict(changes)


def predict(
    forecaster: Forecaster,
    *,
    dates: Sequence[str | date] | None = None,
    features: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """Forecasts for the given dates (features from the cleaned data), for what-if inputs, or,
    with both (one date per feature set), for each date's inputs changed by its features.

    Each record: ret, ret_lo, ret_hi (horizon log return and its band), vol, vol_lo, vol_hi
    (annualised realized vol), horizon_days, as_of (the data date, None for what-if rows
    without a date), model_version and synthetic_data.
    """
    if dates is None and features is None:
        raise PredictionInputError("give dates, features or both")
    rows = resolve_dates(forecaster, dates) if dates is not None else None
    if features is None:
        out = {k: v[rows] for k, v in forecaster.outputs.items()}
        return _records(forecaster, out, [str(forecaster.dates[r]) for r in rows])
    records = [features] if isinstance(features, Mapping) else list(features)
    if rows is not None:
        if len(rows) != len(records):
            raise PredictionInputError("give one date per set of features")
        records = [_on_date(forecaster, r, f) for r, f in zip(rows, records, strict=True)]
    try:
        X = what_if_rows(forecaster.model, records)
    except ValueError as exc:
        raise PredictionInputError(str(exc)) from exc
    as_of = [None] * len(X) if rows is None else [str(forecaster.dates[r]) for r in rows]
    return _records(forecaster, forecaster.model.predict(X), as_of)
