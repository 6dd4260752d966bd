"""predict(): the one way every consumer (API, dashboard, report) gets forecasts.

A `Forecaster` pairs a loaded model with the cleaned table's model inputs, computed once: a
date request is then a row lookup plus a few numpy operations, and a what-if request builds its
row from the user's values (`models.final.what_if_rows`). Both return the same records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from volpred.artifacts import load_version
from volpred.config import Settings
from volpred.models.final import VolpredModel, feature_matrix, what_if_rows


class PredictionInputError(ValueError):
    """A request the model cannot answer (date outside the data, unknown input...)."""


@dataclass
class Forecaster:
    model: VolpredModel
    card: dict[str, Any]
    dates: np.ndarray  # datetime64[D], sorted
    X: np.ndarray  # model inputs per cleaned row

    @property
    def version(self) -> str:
        return str(self.card["version"])

    @property
    def synthetic(self) -> bool:
        """Whether the model was trained on the synthetic sample: every answer says so."""
        return bool(self.card.get("data", {}).get("synthetic", False))

    @property
    def latest_date(self) -> date:
        return self.dates[-1].astype(object)


def load_forecaster(settings: Settings, version: str | None = None) -> Forecaster:
    """Load `version` (default: latest) and precompute its inputs for every cleaned row."""
    model, card = load_version(settings.artifacts_dir, version)
    model.version = card["version"]
    table = pl.read_parquet(settings.cleaned_parquet_path).sort("date")
    return Forecaster(
        model=model,
        card=card,
        dates=table["date"].to_numpy().astype("datetime64[D]"),
        X=feature_matrix(table, model),
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
    keys = list(out)
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


def predict(
    forecaster: Forecaster,
    *,
    dates: Sequence[str | date] | None = None,
    features: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """Forecasts for the given dates (features from the cleaned data) or for what-if inputs.

    Each record: ret, ret_lo, ret_hi (horizon log return and its band), vol, vol_lo, vol_hi
    (annualised realized vol), horizon_days, as_of (the data date, None for what-if rows),
    model_version and synthetic_data.
    """
    if (dates is None) == (features is None):
        raise PredictionInputError("give either dates or features")
    if dates is not None:
        rows = resolve_dates(forecaster, dates)
        X = forecaster.X[rows]
        as_of = [str(forecaster.dates[r]) for r in rows]
    else:
        try:
            X = what_if_rows(forecaster.model, features)
        except ValueError as exc:
            raise PredictionInputError(str(exc)) from exc
        as_of = [None] * len(X)
    return _records(forecaster, forecaster.model.predict(X), as_of)
