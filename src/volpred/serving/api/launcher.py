"""run_flask_api's work: start gunicorn in the background (or keep a healthy running one),
wait until it serves the expected model version, and write `flask_api_running.txt`."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from volpred.config import Settings
from volpred.runtime import processes
from volpred.runtime.storage import atomic_write_text

log = logging.getLogger("volpred.serving.api")
NAME = "api"
MARKER = "flask_api_running.txt"


@dataclass(frozen=True)
class ApiStatus:
    url: str
    pid: int
    model_version: str | None
    started_at: str
    marker: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:volpred.serving.api.gunicorn_conf"]


def ready(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The `/ready` answer (also a 503's body), or None when nothing answers."""
    # Our own API's /ready over http, the URL built from Settings (never user input).
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=timeout) as r:  # noqa: S310  # nosec B310  # own URL
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            return None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_for_version(
    settings: Settings, version: str | None, timeout: float = 60.0
) -> dict[str, Any]:
    """Until every worker answers `/ready` with `version` (any version when None): one answer
    per worker is not enough, since each worker reloads on its own."""
    needed = 2 * settings.api_workers
    streak, answer = 0, None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = ready(settings.api_url)
        ok = bool(answer and answer.get("ready"))
        if ok and version is not None:
            ok = answer.get("model_version") == version
        streak = streak + 1 if ok else 0
        if streak >= needed:
            return answer  # type: ignore[return-value]
        time.sleep(0.1 if ok else 0.3)
    raise processes.ServiceError(
        f"the API at {settings.api_url} did not serve model {version or '(any)'} within "
        f"{timeout:.0f} s; last /ready answer: {answer}"
    )


def start_api(settings: Settings, expected_version: str | None = None) -> ApiStatus:
    """The API serving `expected_version`: a running healthy server picks new versions up by
    itself (no restart); one that does not within a while, or does not answer, is restarted."""
    started = time.perf_counter()
    env = settings.as_env() | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    health = f"{settings.api_url}/health"

    def start() -> processes.Service:
        return processes.start(
            settings.run_dir,
            NAME,
            command(),
            health_url=health,
            env=env,
            timeout=120,
            port_setting="VOLPRED_API_PORT",
        )

    service = start()
    try:
        answer = wait_for_version(settings, expected_version, timeout=30)
    except processes.ServiceError:
        log.warning("run_flask_api: the running API did not pick up the model; restarting it")
        processes.stop(settings.run_dir, NAME)
        service = start()
        answer = wait_for_version(settings, expected_version, timeout=60)
    status = ApiStatus(
        url=settings.api_url,
        pid=service.pid,
        model_version=answer.get("model_version"),
        started_at=service.started_at,
        marker=str(settings.run_dir / MARKER),
    )
    atomic_write_text(
        settings.run_dir / MARKER,
        "".join(
            f"{k}: {v}\n"
            for k, v in {
                "url": status.url,
                "pid": status.pid,
                "model_version": status.model_version,
                "started_at": status.started_at,
                "docs": f"{status.url}/docs",
                "log": service.log,
                "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }.items()
        ),
    )
    log.info(
        "run_flask_api: %s serving model %s (pid %d) in %.1f s; marker %s",
        status.url,
        status.model_version,
        status.pid,
        time.perf_counter() - started,
        status.marker,
    )
    return status


def stop_api(settings: Settings) -> bool:
    stopped = processes.stop(settings.run_dir, NAME)
    (settings.run_dir / MARKER).unlink(missing_ok=True)
    return stopped


def run_foreground(settings: Settings) -> None:
    """`volpred api`: gunicorn in this terminal (Ctrl-C stops it)."""
    env = os.environ | settings.as_env()
    env.setdefault("OMP_NUM_THREADS", "1")
    os.execvpe(sys.executable, command(), env)  # noqa: S606 - our own fixed command
