"""Background services (the Prefect server and worker, the API, the dashboard): start, wait
until healthy, stop.

Each service has a JSON pid file under `settings.run_dir` and its output in a log file beside it,
so `volpred stop` (and `make stop`) can find what any earlier command started. Processes run in
their own session so that stopping one stops its children too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from volpred.runtime.storage import atomic_write_json, read_json


class ServiceError(RuntimeError):
    """A service did not start or become healthy; the message quotes the end of its log."""


@dataclass
class Service:
    name: str
    pid: int
    cmd: list[str]
    url: str | None
    log: str
    started_at: str


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.json"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as dead.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def healthy(url: str, timeout: float = 2.0) -> bool:
    # The health URL of a service this process started, from Settings (http://host:port).
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310  # own URL
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether anything accepts a connection at `url`'s host and port, whatever it is (an HTTP
    server of any kind, or a program that speaks no HTTP): what would keep a new service from
    listening there."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname is None:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def origin(url: str) -> str:
    """`scheme://host:port` of `url`, the address a service listens on."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def running(run_dir: Path, name: str) -> Service | None:
    data = read_json(pid_file(run_dir, name))
    if data is None:
        return None
    service = Service(**data)
    return service if alive(service.pid) else None


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(
    run_dir: Path,
    name: str,
    cmd: list[str],
    *,
    health_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
    cwd: Path | None = None,
    port_setting: str | None = None,
) -> Service:
    """Start `cmd` in the background unless it already runs; wait until `health_url` answers.

    A service counts as already running only when its pid file under `run_dir` names a live
    process. Anything else answering at `health_url`'s address (a service of another checkout
    or run folder, an unrelated program) is refused with a `ServiceError`: a health check
    passed by that stranger would report a service started that never listened, and `stop`
    could not stop what it serves. `port_setting` names the setting that moves the service.
    """
    existing = running(run_dir, name)
    if existing is not None and (health_url is None or healthy(health_url)):
        return existing
    if existing is not None:
        stop(run_dir, name)
    if health_url is not None and answers(health_url):
        other = f"another port ({port_setting})" if port_setting else "another port"
        raise ServiceError(
            f"{name} not started: something else answers at {origin(health_url)} (not a "
            f"{name} started from {run_dir}); stop it, or choose {other} for the {name}"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed command of ours
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=os.environ | (env or {}),
            cwd=cwd,
            start_new_session=True,
        )
    service = Service(
        name, process.pid, cmd, health_url, str(log_path), datetime.now(UTC).isoformat()
    )
    atomic_write_json(pid_file(run_dir, name), asdict(service))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_file(run_dir, name).unlink(missing_ok=True)
            raise ServiceError(
                f"{name} exited with code {process.returncode}; log {log_path}:\n"
                + _log_tail(log_path)
            )
        if health_url is None or healthy(health_url):
            return service
        time.sleep(0.5)
    stop(run_dir, name)
    raise ServiceError(
        f"{name} did not become healthy at {health_url} within {timeout:.0f} s; log "
        f"{log_path}:\n{_log_tail(log_path)}"
    )


def stop(run_dir: Path, name: str, grace: float = 10.0) -> bool:
    """Stop a service's whole process group: SIGTERM (twice: an idle Prefect worker ignores
    the first), then SIGKILL after `grace` seconds. Returns whether something was running."""
    path = pid_file(run_dir, name)
    data = read_json(path)
    if data is None:
        return False
    pid = int(data["pid"])
    was_alive = alive(pid)
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if not alive(pid):
            break
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5)
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if sig == signal.SIGTERM and alive(pid):
            grace = grace / 2
    path.unlink(missing_ok=True)
    return was_alive
