"""Forecasts for the rows of a `/predict` request, and which field is at fault when the model
cannot answer one."""

from __future__ import annotations

from typing import Any

from volpred.model.forecaster import Forecaster, PredictionInputError, predict, resolve_dates
from volpred.serving.api.errors import HttpError
from volpred.serving.api.schemas import PredictRow


def forecasts(f: Forecaster, rows: list[PredictRow], batch: bool) -> list[dict[str, Any]]:
    """One vectorised `predict` when all rows are of one kind (a date alone is then a row
    lookup in the precomputed forecasts); row by row for mixed kinds, and to name the row at
    fault when a batch fails."""
    if len({_kind(r) for r in rows}) == 1:
        try:
            return _predict(f, rows)
        except PredictionInputError as exc:
            if not batch:
                raise _cannot(str(exc), _fault(f, rows[0])) from None
    records: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        try:
            records += _predict(f, [row])
        except PredictionInputError as exc:
            raise _cannot(f"rows.{i}: {exc}", f"rows.{i}.{_fault(f, row)}") from None
    return records


def _kind(row: PredictRow) -> tuple[bool, bool]:
    return row.date is not None, row.features is not None


def _predict(f: Forecaster, rows: list[PredictRow]) -> list[dict[str, Any]]:
    has_date, has_features = _kind(rows[0])
    return predict(
        f,
        dates=[r.date for r in rows] if has_date else None,
        features=[r.changes() for r in rows] if has_features else None,
    )


def _fault(f: Forecaster, row: PredictRow) -> str:
    """The date when the data has no such day (or the row gives nothing else), else the
    features."""
    if row.date is None:
        return "features"
    if row.features is None:
        return "date"
    try:
        resolve_dates(f, [row.date])
    except PredictionInputError:
        return "date"
    return "features"


def _cannot(detail: str, field: str) -> HttpError:
    return HttpError(422, "cannot forecast", detail, field)
