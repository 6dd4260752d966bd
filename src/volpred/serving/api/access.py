"""A request id, the Prometheus counters and one structured access-log line for every request,
answered or refused, matched to a route or not.

Metrics and log lines name the endpoint without the blueprint's prefix (`predict`, not
`api.predict`), and `unmatched` when no route matched.
"""

from __future__ import annotations

import logging
import time
import uuid

import orjson
from flask import Flask, Response, g, request

from volpred.serving.api import prometheus

access = logging.getLogger("volpred.serving.api.access")


def endpoint_label(endpoint: str | None) -> str:
    return endpoint.rpartition(".")[2] if endpoint else "unmatched"


def _start() -> None:
    g.started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex[:16]


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    endpoint = endpoint_label(request.endpoint)
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


def install(app: Flask) -> None:
    """Before the API key check (`auth.install`): hooks run in the order installed, and a
    refused request is timed, counted and logged like any other."""
    app.before_request(_start)
    app.after_request(_finish)
