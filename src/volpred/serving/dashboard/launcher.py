"""run_streamlit_dashboard's work: Streamlit headless in the background (`start_dashboard`),
or in this terminal (`volpred dashboard`, `run_foreground`).

The dashboard process gets only the settings it reads (the API's URL and key, the timeout,
the log level) as `VOLPRED_*` variables; it never touches the model or data folders.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from volpred.config import Settings
from volpred.runtime import processes
from volpred.runtime.storage import atomic_write_text
from volpred.serving.dashboard import entrypoint

log = logging.getLogger("volpred.serving.dashboard")
NAME = "dashboard"
MARKER = "streamlit_dashboard_running.txt"
APP = Path(__file__).with_name("app.py")
PROJECT_DIR = Path(__file__).resolve().parents[4]


def command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        # = streamlit, with its imports done before it listens
        "volpred.serving.dashboard.entrypoint",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        settings.dashboard_host,
        "--server.port",
        str(settings.dashboard_port),
        "--browser.gatherUsageStats",
        "false",
        # No file watching: a service does not reload on edits, and inotify costs a core.
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        # Analysts view, they do not deploy: no Deploy button or developer menu.
        "--client.toolbarMode",
        "viewer",
    ]


def environment(settings: Settings) -> dict[str, str]:
    """What the dashboard process needs to know, as env on top of the caller's."""
    env = {
        entrypoint.MARKER_ENV: str((settings.run_dir / MARKER).resolve()),
        "VOLPRED_DASHBOARD_API_URL": settings.api_url_for_dashboard,
        "VOLPRED_DASHBOARD_API_TIMEOUT": str(settings.dashboard_api_timeout),
        "VOLPRED_LOG_LEVEL": settings.log_level,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    if settings.api_key is not None:
        env["VOLPRED_API_KEY"] = settings.api_key.get_secret_value()
    return env


def health_url(settings: Settings) -> str:
    return f"{settings.dashboard_url}/_stcore/health"


def start_dashboard(settings: Settings, timeout: float = 90.0) -> processes.Service:
    """Start Streamlit in the background unless a healthy one for the same API already runs,
    wait for its health endpoint, and write `run_dir/streamlit_dashboard_running.txt` (url,
    pid, api_url, started_at, log). Something else answering at the dashboard's address (a
    dashboard of another checkout, say) is a `ServiceError`, not a started dashboard."""
    started = time.perf_counter()
    was = read_marker(settings).get("api_url", settings.api_url_for_dashboard)
    # A running dashboard keeps the API it was started with: restart it for another one.
    if was != settings.api_url_for_dashboard and processes.stop(settings.run_dir, NAME):
        log.info("event=dashboard_restart reason=api_url_changed was=%s", was)
    service = processes.start(
        settings.run_dir,
        NAME,
        command(settings),
        health_url=health_url(settings),
        env=environment(settings),
        timeout=timeout,
        cwd=PROJECT_DIR,
        port_setting="VOLPRED_DASHBOARD_PORT",
    )
    fields = {
        "url": settings.dashboard_url,
        "pid": service.pid,
        "api_url": settings.api_url_for_dashboard,
        "started_at": service.started_at,
        "log": service.log,
    }
    atomic_write_text(settings.run_dir / MARKER, "".join(f"{k}: {v}\n" for k, v in fields.items()))
    log.info(
        "event=dashboard_started url=%s pid=%d api_url=%s seconds=%.1f",
        settings.dashboard_url,
        service.pid,
        settings.api_url_for_dashboard,
        time.perf_counter() - started,
    )
    return service


def stop_dashboard(settings: Settings) -> bool:
    """Stop the background dashboard and remove its marker file; whether one was running."""
    stopped = processes.stop(settings.run_dir, NAME)
    (settings.run_dir / MARKER).unlink(missing_ok=True)
    log.info("event=dashboard_stopped was_running=%s", stopped)
    return stopped


def read_marker(settings: Settings) -> dict[str, str]:
    """The marker file's `key: value` lines as a dict (empty when there is none)."""
    try:
        text = (settings.run_dir / MARKER).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def run_foreground(settings: Settings) -> int:
    """`volpred dashboard`: Streamlit in this terminal until Ctrl-C; returns its exit code."""
    log.info(
        "event=dashboard_start url=%s api_url=%s",
        settings.dashboard_url,
        settings.api_url_for_dashboard,
    )
    started = time.perf_counter()
    code = 0
    try:
        code = subprocess.call(  # noqa: S603 - our own fixed command
            command(settings), env=os.environ | environment(settings), cwd=PROJECT_DIR
        )
    except KeyboardInterrupt:
        code = 130
    log.info("event=dashboard_end code=%s seconds=%.0f", code, time.perf_counter() - started)
    return code
