"""Request counts, errors and latency per endpoint, in Prometheus' text format.

Under gunicorn every worker is a process, so prometheus_client's multiprocess mode is used when
`PROMETHEUS_MULTIPROC_DIR` is set (the gunicorn config sets it): each worker writes its values
to files there and `/metrics` adds them up, whichever worker answers.
"""

from __future__ import annotations

import os
from collections import Counter as Tally

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REQUESTS = Counter(
    "volpred_api_requests_total", "HTTP requests answered", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "volpred_api_request_seconds", "Time to answer a request", ["endpoint"], buckets=BUCKETS
)
#: This process's own totals, for the line each worker logs when it stops.
TOTALS: Tally[str] = Tally()


def observe(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)
    TOTALS["requests"] += 1
    if status >= 400:
        TOTALS["errors"] += 1
        TOTALS["5xx" if status >= 500 else "4xx"] += 1


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
