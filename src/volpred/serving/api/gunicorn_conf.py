"""gunicorn configuration for the volpred API
(`gunicorn -c python:volpred.serving.api.gunicorn_conf`).

Choices, measured on 2 cores (see README, "REST API"):
- sync workers, one per core: a request is a few hundred microseconds of CPU and no I/O wait,
  so threads (gthread) only add contention; sync gave higher /predict throughput and a 2-3x
  lower p99.
- OMP_NUM_THREADS=1 before anything imports numpy or scikit-learn: with OpenMP threads per
  worker, a gradient-boosting model oversubscribes the cores and throughput collapses.
- no preload_app: polars' thread pool does not survive fork (a worker forked from a master
  that had read parquet deadlocks on its first polars call), so each worker loads the model
  itself when it starts, before it accepts a request.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from volpred.config import Settings  # noqa: E402 - after the thread settings

_settings = Settings()
_metrics_dir = (_settings.run_dir / "api-metrics").resolve()
# Always our own folder: `on_starting` empties it, so it must never be a shared one.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)

wsgi_app = "volpred.serving.api.wsgi:app"
bind = [f"{_settings.api_host}:{_settings.api_port}"]
workers = _settings.api_workers
worker_class = "sync"
timeout = int(_settings.api_timeout)
graceful_timeout = 10
preload_app = False
proc_name = "volpred-api"
accesslog = None  # the app logs one structured line per request itself
errorlog = "-"
loglevel = _settings.log_level.lower()
limit_request_line = 8190
limit_request_fields = 100

log = logging.getLogger("volpred.serving.api")


def on_starting(server: Any) -> None:
    """Fresh metrics per server run (stale files of dead workers would be added up)."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def when_ready(server: Any) -> None:
    server.log.info("volpred api: started on %s with %d sync workers", bind[0], workers)
    if not _settings.api_key and _settings.api_host not in ("127.0.0.1", "localhost", "::1"):
        server.log.warning(
            "volpred api: listening on %s without an API key: anyone who can reach it can "
            "use it (set VOLPRED_API_KEY)",
            _settings.api_host,
        )


def worker_exit(server: Any, worker: Any) -> None:
    from volpred.serving.api.prometheus import TOTALS

    server.log.info(
        "volpred api: worker %d stopped after %d requests, %d errors (%d 4xx, %d 5xx)",
        worker.pid,
        TOTALS["requests"],
        TOTALS["errors"],
        TOTALS["4xx"],
        TOTALS["5xx"],
    )


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    server.log.info("volpred api: stopped")
