"""The endpoints, as one blueprint. Each view is declared with `operation` (what it reads and
answers, its error codes, whether it needs the API key), which the OpenAPI description and the
key check read.

Every answer is JSON unless a figure format says otherwise. The hot path (`/predict` for a
date) is a pydantic parse of the raw body, a row lookup in the precomputed forecasts and an
orjson dump.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import orjson
import polars as pl
from flask import Blueprint, Response, current_app, request
from flask.views import MethodView
from pydantic import BaseModel, ValidationError

from volpred.config import Settings
from volpred.model.card import ModelCard
from volpred.serving.api import plots, prometheus
from volpred.serving.api.errors import HttpError, invalid_request, json_response
from volpred.serving.api.forecasts import forecasts
from volpred.serving.api.openapi import operation
from volpred.serving.api.schemas import (
    Columns,
    DataQuality,
    DateRange,
    Health,
    PlotQuery,
    PredictQuery,
    PredictRequest,
    PredictResponse,
    PredictRow,
    Ready,
)
from volpred.serving.api.snapshot import Served, Snapshot

bp = Blueprint("api", __name__)
Query = TypeVar("Query", bound=BaseModel)


@dataclass(frozen=True)
class Pages:
    """What `/openapi.json` and `/docs` answer, rendered once per app."""

    openapi: bytes
    docs: bytes


def _served() -> Served:
    served: Served = current_app.extensions["volpred"]
    return served


def _settings() -> Settings:
    settings: Settings = current_app.extensions["volpred.settings"]
    return settings


def _snapshot() -> Snapshot:
    served = _served()
    current = served.snapshot()
    if current is None:
        raise HttpError(503, "not ready", served.error or "no model is loaded yet")
    return current


def _query(model: type[Query]) -> Query:
    args = request.args
    repeated = [k for k in args if len(args.getlist(k)) > 1]
    if repeated:
        name = repeated[0]
        raise HttpError(422, "invalid request", f"parameter {name!r} given twice", name)
    try:
        return model.model_validate(args.to_dict())
    except ValidationError as exc:
        raise invalid_request(exc) from None


HEALTH = orjson.dumps({"status": "ok"})


@bp.get("/health")
@operation(protected=False, answers={200: (Health, "alive")})
def health() -> Response:
    """Liveness"""
    return Response(HEALTH, mimetype="application/json")


@bp.get("/ready")
@operation(
    protected=False,
    answers={200: (Ready, "ready"), 503: (Ready, "nothing can be served yet")},
)
def ready() -> Response:
    """Readiness: the served model's version and data as-of date"""
    served = _served()
    current = served.snapshot()
    if current is None:
        return json_response({"ready": False, "error": served.error or "loading"}, 503)
    f = current.forecaster
    return json_response(
        {
            "ready": True,
            "model_version": f.version,
            "data_first": str(f.dates[0]),
            "data_as_of": str(f.latest_date),
            "synthetic_data": f.synthetic,
            "loaded_at": current.loaded_at,
            "reload_error": served.error,
        }
    )


@bp.get("/model")
@operation(protected=True, answers={200: (ModelCard, "the model card")}, errors=[503])
def model() -> Response:
    """The served model's card (metrics, hyperparameters, data)"""
    return json_response(_snapshot().forecaster.card.to_dict())


def _answer(rows: list[PredictRow], batch: bool = False) -> Response:
    f = _snapshot().forecaster
    return json_response({"model_version": f.version, "predictions": forecasts(f, rows, batch)})


class Predict(MethodView):
    init_every_request = False

    @operation(
        protected=True,
        query=PredictQuery,
        answers={200: (PredictResponse, "forecasts")},
        errors=[422, 503],
    )
    def get(self) -> Response:
        """Forecast for a date ('latest' by default)"""
        return _answer([PredictRow(date=_query(PredictQuery).date)])

    @operation(
        protected=True,
        body=PredictRequest,
        answers={200: (PredictResponse, "forecasts, in the order asked")},
        errors=[400, 413, 422, 503],
    )
    def post(self) -> Response:
        """Forecasts for a date, what-if inputs, a date's inputs changed by what-if inputs, or
        a batch of up to 1,000 of these"""
        try:
            body = PredictRequest.model_validate_json(request.get_data(cache=False))
        except ValidationError as exc:
            raise invalid_request(exc) from None
        return _answer(body.as_rows(), batch=body.rows is not None)


bp.add_url_rule("/predict", view_func=Predict.as_view("predict"))


def _range(dates: pl.Series, q: DateRange) -> tuple[date | None, date | None]:
    first, last = dates[0], dates[-1]
    if (q.start and q.start > last) or (q.end and q.end < first):
        raise HttpError(
            422,
            "no data in range",
            f"the data covers {first} .. {last}",
            "start" if q.start and q.start > last else "end",
        )
    return q.start, q.end


def _table_bytes(frame: pl.DataFrame, start: date | None, end: date | None) -> bytes:
    if start:
        frame = frame.filter(pl.col("date") >= start)
    if end:
        frame = frame.filter(pl.col("date") <= end)
    data = {c: frame[c].to_list() for c in frame.columns}
    return orjson.dumps({"columns": frame.columns, "data": data})


def _cached(current: Snapshot, key: Any, make: Callable[[], tuple[bytes, str]]) -> Response:
    body, mimetype = current.cache.get_or_make(key, make)
    return Response(body, mimetype=mimetype)


def _oos_frame(current: Snapshot) -> pl.DataFrame:
    if current.oos is None:
        raise HttpError(
            404,
            "not found",
            f"model {current.version} has no walk-forward predictions saved with it",
        )
    return current.oos


@bp.get("/plot")
@operation(
    protected=True,
    query=PlotQuery,
    answers={200: (plots.CONTENT, "the figure in the format asked")},
    errors=[404, 422, 503],
)
def plot() -> Response:
    """A figure: market history, walk-forward forecasts, or residuals"""
    q = _query(PlotQuery)
    current = _snapshot()
    frame = current.table if q.kind == "history" else _oos_frame(current)
    start, end = _range(frame["date"], q)
    settings = _settings()
    return _cached(
        current,
        ("plot", q.kind, q.format, start, end),
        lambda: plots.render(current, settings, q.kind, q.format, start, end),
    )


@bp.get("/history")
@operation(
    protected=True,
    query=DateRange,
    answers={200: (Columns, "the table")},
    errors=[422, 503],
)
def history() -> Response:
    """The cleaned market data and features, column by column"""
    q = _query(DateRange)
    current = _snapshot()
    start, end = _range(current.table["date"], q)
    return _cached(
        current,
        ("history", start, end),
        lambda: (_table_bytes(current.table, start, end), "application/json"),
    )


@bp.get("/oos")
@operation(
    protected=True,
    query=DateRange,
    answers={200: (Columns, "the table")},
    errors=[404, 422, 503],
)
def oos() -> Response:
    """The served model's walk-forward out-of-sample predictions"""
    q = _query(DateRange)
    current = _snapshot()
    frame = _oos_frame(current)
    start, end = _range(frame["date"], q)
    return _cached(
        current,
        ("oos", start, end),
        lambda: (_table_bytes(frame, start, end), "application/json"),
    )


@bp.get("/data-quality")
@operation(protected=True, answers={200: (DataQuality, "reports")}, errors=[503])
def data_quality() -> Response:
    """The cleaning report and the raw data's source metadata"""
    current = _snapshot()
    return json_response({"cleaning_report": current.cleaning_report, "raw_meta": current.raw_meta})


@bp.get("/metrics")
@operation(
    protected=False,
    answers={200: ({"text/plain": {"schema": {"type": "string"}}}, "metrics")},
)
def metrics() -> Response:
    """Request counts, errors and latency by endpoint (Prometheus text)"""
    body, content_type = prometheus.exposition()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
@operation(
    protected=False,
    answers={200: ({"application/json": {"schema": {"type": "object"}}}, "OpenAPI 3.1")},
)
def openapi() -> Response:
    """This description"""
    pages: Pages = current_app.extensions["volpred.pages"]
    return Response(pages.openapi, mimetype="application/json")


@bp.get("/docs")
@operation(
    protected=False,
    answers={200: ({"text/html": {"schema": {"type": "string"}}}, "HTML")},
)
def docs() -> Response:
    """Human-readable documentation of this API"""
    pages: Pages = current_app.extensions["volpred.pages"]
    return Response(pages.docs, mimetype="text/html; charset=utf-8")
