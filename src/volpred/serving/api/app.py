"""The Flask application: routes, validation, errors, API key, metrics and access log.

Every answer is JSON unless a figure format says otherwise, every error has the body
`{"error", "detail", "field"}`, and no error carries a stack trace or a path of this machine.
The hot path (`/predict` for a date) is a pydantic parse of the raw body, a row lookup in the
precomputed forecasts and an orjson dump.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
import polars as pl
from flask import Flask, Response, g, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from volpred.config import Settings
from volpred.model.forecaster import PredictionInputError, predict
from volpred.serving.api import prometheus
from volpred.serving.api.schemas import (
    DateRange,
    PlotQuery,
    PredictQuery,
    PredictRequest,
    PredictRow,
)
from volpred.serving.api.snapshot import Served, Snapshot

log = logging.getLogger("volpred.serving.api")
access = logging.getLogger("volpred.serving.api.access")

#: Endpoints that need the API key when one is set (health, readiness, docs and metrics don't).
PROTECTED = {"predict", "plot", "history", "oos", "model", "data_quality"}
PLOT_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "png": "image/png",
    "svg": "image/svg+xml",
}


#: Names pydantic adds to an error's location for the branch of a union (not request fields).
UNION_TAG = re.compile(r"^(str|float|int|bool|list\[.*\]|function-.*|[A-Z]\w*)$")


class ApiError(Exception):
    """An answer other than 200, raised anywhere in a view."""

    def __init__(self, status: int, error: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.field = status, error, detail, field


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS),
        status=status,
        mimetype="application/json",
    )


def error_response(status: int, error: str, detail: str, field: str | None = None) -> Response:
    return json_response({"error": error, "detail": detail, "field": field}, status)


def _validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":
        return ApiError(400, "invalid JSON", f"the body is not valid JSON: {first['msg']}")
    loc = ".".join(str(p) for p in first["loc"] if not UNION_TAG.match(str(p)))
    where = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ApiError(422, "invalid request", f"{where or 'body'}: {first['msg']}{extra}", where)


def _query(model: type[BaseModel]) -> Any:
    args = request.args
    repeated = [k for k in args if len(args.getlist(k)) > 1]
    if repeated:
        name = repeated[0]
        raise ApiError(422, "invalid request", f"parameter {name!r} given twice", name)
    try:
        return model.model_validate(args.to_dict())
    except ValidationError as exc:
        raise _validation_error(exc) from None


def create_app(settings: Settings | None = None, served: Served | None = None) -> Flask:
    """The API for `settings` (default: from the environment). Models load on first use."""
    settings = settings or Settings()
    served = served or Served(settings)
    app = Flask("volpred.serving.api")
    app.config["MAX_CONTENT_LENGTH"] = settings.api_max_body
    app.extensions["volpred"] = served
    key = settings.api_key.get_secret_value().encode() if settings.api_key else None

    def snapshot() -> Snapshot:
        current = served.snapshot()
        if current is None:
            raise ApiError(503, "not ready", served.error or "no model is loaded yet")
        return current

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex[:16]
        if key is not None and request.endpoint in PROTECTED:
            given = request.headers.get("X-API-Key", "")
            auth = request.headers.get("Authorization", "")
            if not given and auth.lower().startswith("bearer "):
                given = auth[7:]
            if not hmac.compare_digest(given.encode(), key):
                raise ApiError(
                    401,
                    "unauthorized",
                    "a valid API key is required (header X-API-Key or Authorization: Bearer)",
                )

    @app.after_request
    def _finish(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        prometheus.observe(endpoint, request.method, response.status_code, seconds)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if access.isEnabledFor(logging.INFO):
            access.info(
                orjson.dumps(
                    {
                        "event": "request",
                        "id": g.get("request_id"),
                        "method": request.method,
                        "path": request.path,
                        "endpoint": endpoint,
                        "status": response.status_code,
                        "ms": round(1000 * seconds, 3),
                        "bytes": response.content_length,
                        "remote": request.remote_addr,
                    }
                ).decode()
            )
        return response

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.error, exc.detail, exc.field)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="volpred"'
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, exc.name.lower(), exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("api: unexpected error on %s %s", request.method, request.path)
        return error_response(
            500, "internal error", f"the server failed (request id {g.get('request_id')})"
        )

    health_body = orjson.dumps({"status": "ok"})

    @app.get("/health")
    def health() -> Response:
        return Response(health_body, mimetype="application/json")

    @app.get("/ready")
    def ready() -> Response:
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

    @app.get("/model")
    def model() -> Response:
        return json_response(snapshot().forecaster.card.to_dict())

    def answer(rows: list[PredictRow]) -> Response:
        f = snapshot().forecaster
        try:
            records = _forecasts(f, rows)
        except PredictionInputError as exc:
            raise ApiError(422, "cannot forecast", str(exc), _field_of(exc)) from None
        return json_response({"model_version": f.version, "predictions": records})

    @app.route("/predict", methods=["GET", "POST"], endpoint="predict")
    def predict_view() -> Response:
        if request.method == "GET":
            return answer([PredictRow(date=_query(PredictQuery).date)])
        try:
            body = PredictRequest.model_validate_json(request.get_data(cache=False))
        except ValidationError as exc:
            raise _validation_error(exc) from None
        return answer(body.as_rows())

    def _range(current_dates: pl.Series, q: DateRange) -> tuple[date | None, date | None]:
        first, last = current_dates[0], current_dates[-1]
        if (q.start and q.start > last) or (q.end and q.end < first):
            raise ApiError(
                422,
                "no data in range",
                f"the data covers {first} .. {last}",
                "start" if q.start and q.start > last else "end",
            )
        return q.start, q.end

    def table_bytes(frame: pl.DataFrame, start: date | None, end: date | None) -> bytes:
        if start:
            frame = frame.filter(pl.col("date") >= start)
        if end:
            frame = frame.filter(pl.col("date") <= end)
        data = {c: frame[c].to_list() for c in frame.columns}
        return orjson.dumps({"columns": frame.columns, "data": data})

    def cached(current: Snapshot, key: Any, make: Callable[[], tuple[bytes, str]]) -> Response:
        body, mimetype = current.cache.get_or_make(key, make)
        return Response(body, mimetype=mimetype)

    @app.get("/history")
    def history() -> Response:
        q = _query(DateRange)
        current = snapshot()
        start, end = _range(current.table["date"], q)
        return cached(
            current,
            ("history", start, end),
            lambda: (table_bytes(current.table, start, end), "application/json"),
        )

    def oos_frame(current: Snapshot) -> pl.DataFrame:
        if current.oos is None:
            raise ApiError(
                404,
                "not found",
                f"model {current.version} has no walk-forward predictions saved with it",
            )
        return current.oos

    @app.get("/oos")
    def oos() -> Response:
        q = _query(DateRange)
        current = snapshot()
        frame = oos_frame(current)
        start, end = _range(frame["date"], q)
        return cached(
            current,
            ("oos", start, end),
            lambda: (table_bytes(frame, start, end), "application/json"),
        )

    @app.get("/data-quality")
    def data_quality() -> Response:
        current = snapshot()
        return json_response(
            {"cleaning_report": current.cleaning_report, "raw_meta": current.raw_meta}
        )

    @app.get("/plot")
    def plot() -> Response:
        q = _query(PlotQuery)
        current = snapshot()
        frame = current.table if q.kind == "history" else oos_frame(current)
        start, end = _range(frame["date"], q)
        key = ("plot", q.kind, q.format, start, end)
        return cached(current, key, lambda: render_plot(current, q.kind, q.format, start, end))

    def render_plot(
        current: Snapshot, kind: str, fmt: str, start: date | None, end: date | None
    ) -> tuple[bytes, str]:
        from volpred.report import charts

        if kind == "history":
            fig = charts.history(current.table, start=start, end=end)
        elif kind == "forecast":
            latest = current.forecaster.card.latest_forecast
            fig = charts.forecast(current.oos, latest=latest, start=start, end=end)
        else:
            fig = charts.residuals(current.oos, start=start, end=end)
        if fmt == "json":
            return fig.to_json().encode(), PLOT_TYPES[fmt]
        if fmt == "html":
            html = fig.to_html(include_plotlyjs=True, full_html=True)
            return html.encode(), PLOT_TYPES[fmt]
        from volpred.report import chart_export

        try:
            exporter = chart_export.exporter(settings)
            # Start and render, retried once, must end well inside gunicorn's worker timeout:
            # a hung browser then costs a 503, not a killed worker.
            exporter.start_timeout = exporter.render_timeout = settings.api_timeout / 5
            spec = chart_export.ImageSpec(fig, fmt, 900, 500, 1.0)
            return exporter.to_image(spec), PLOT_TYPES[fmt]
        except (chart_export.BrowserMissingError, chart_export.FigureExportError) as exc:
            log.error("api: figure export failed: %s", exc)
            raise ApiError(
                503, "figure export unavailable", f"{fmt} export failed; json and html work"
            ) from None

    from volpred.serving.api.openapi import docs_page, openapi_spec

    description = openapi_spec(settings)
    spec = orjson.dumps(description)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return Response(spec, mimetype="application/json")

    docs = docs_page(description).encode()

    @app.get("/docs", endpoint="docs")
    def docs_view() -> Response:
        return Response(docs, mimetype="text/html; charset=utf-8")

    @app.get("/metrics", endpoint="metrics")
    def metrics_view() -> Response:
        body, content_type = prometheus.exposition()
        return Response(body, content_type=content_type)

    return app


def _forecasts(f: Any, rows: list[PredictRow]) -> list[dict[str, Any]]:
    """One vectorised `predict` when all rows are of one kind; row by row otherwise, and to
    name the row at fault when a batch fails."""
    kinds = {(r.date is not None, r.features is not None) for r in rows}
    if len(kinds) == 1:
        has_date, has_features = kinds.pop()
        try:
            return predict(
                f,
                dates=[r.date for r in rows] if has_date else None,
                features=[r.changes() for r in rows] if has_features else None,
            )
        except PredictionInputError:
            if len(rows) == 1:
                raise
    records = []
    for i, r in enumerate(rows):
        try:
            records += _forecasts(f, [r])
        except PredictionInputError as exc:
            if len(rows) == 1:
                raise
            raise PredictionInputError(f"rows.{i}: {exc}") from None
    return records


def _field_of(exc: PredictionInputError) -> str | None:
    """The request field a forecasting error is about, from its message."""
    text = str(exc)
    prefix = text.split(":", 1)[0] + "." if text.startswith("rows.") else ""
    if "date" in text:
        return prefix + "date"
    return prefix + "features"
