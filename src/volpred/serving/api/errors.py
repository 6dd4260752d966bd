"""Every answer other than 2xx has the body `{"error", "detail", "field"}` and carries no stack
trace or path of this machine: views and hooks raise `HttpError`, werkzeug raises its HTTP
errors (404, 405, 413...), and the handlers here turn both, and anything unexpected, into that
body.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Flask, Response, g, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("volpred.serving.api")

#: What each error status means in this API; the OpenAPI description documents each route's
#: codes with these words.
MEANING: dict[int, str] = {
    400: "the body is not valid JSON",
    401: "the API key is missing or wrong (when one is configured)",
    404: "no such resource",
    405: "method not allowed",
    413: "the body is larger than the limit",
    422: "a field is missing, unknown, of the wrong type or out of range, or a date is "
    "outside the data",
    503: "no model can be served yet",
}


class HttpError(Exception):
    """An answer other than 2xx, raised anywhere in a view or a request hook."""

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


def invalid_request(exc: ValidationError) -> HttpError:
    """The first of pydantic's errors, named by its location: the request models have no
    unions, so a location holds only field names and list indices (none: the whole body)."""
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":
        return HttpError(400, "invalid JSON", f"the body is not valid JSON: {first['msg']}")
    where = ".".join(str(part) for part in first["loc"]) or None
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return HttpError(422, "invalid request", f"{where or 'body'}: {first['msg']}{extra}", where)


def _problem(exc: HttpError) -> Response:
    response = error_response(exc.status, exc.error, exc.detail, exc.field)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="volpred"'
    return response


def _http_error(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, exc.name.lower(), exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("api: unexpected error on %s %s", request.method, request.path)
    return error_response(
        500, "internal error", f"the server failed (request id {g.get('request_id')})"
    )


def install(app: Flask) -> None:
    """On the app, not a blueprint: a 404 or 405 matches no route of any blueprint."""
    app.register_error_handler(HttpError, _problem)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
