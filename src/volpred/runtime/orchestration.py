"""`volpred serve`: a local Prefect server, the work pool, the deployment and a worker.

One long-running server makes repeated runs fast (a temporary server costs 5-11 s per process)
and gives analysts the UI at http://127.0.0.1:4200 with the deployment, its schedule and runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from volpred.config import Settings
from volpred.runtime import processes

log = logging.getLogger(__name__)
PROJECT_DIR = Path(__file__).resolve().parents[3]
POOL_TEMPLATE = PROJECT_DIR / "deployments" / "process-pool.json"
#: Stopped by `volpred stop`, in this order (consumers before what they depend on).
SERVICES = [
    "dashboard",
    "api",
    "prefect-docker-worker",
    "prefect-worker",
    "podman-service",
    "prefect-server",
]
#: Seconds a service gets after SIGTERM before SIGKILL, where the default 10 s is too long:
#: the docker worker ignores SIGTERM and SIGINT for more than 20 s (its containers are not its
#: children and carry on by themselves).
STOP_GRACE = {"prefect-docker-worker": 2.0}


def api_url(settings: Settings) -> str:
    return f"http://{settings.prefect_host}:{settings.prefect_port}/api"


def prefect_env(settings: Settings) -> dict[str, str]:
    return {
        "PREFECT_API_URL": api_url(settings),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "volpred",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }


def prefect_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def prefect_cli(env: dict[str, str], *args: str) -> None:
    """Run one `prefect` command in the project folder; a failure quotes its output."""
    _run(prefect_command(*args), env)


_prefect = prefect_command


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - fixed commands of ours
        cmd, env=os.environ | env, cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise processes.ServiceError(
            f"{' '.join(cmd[2:])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def ensure_server(settings: Settings) -> processes.Service | None:
    """The local Prefect server, started in the background unless it already answers. None
    when a server started elsewhere (another run folder) answers at that address: it is used,
    and nothing is started beside it, since a Prefect server is shared by design (flows and
    workers of any checkout talk to it through its API). Something at that address that does
    not answer Prefect's health check is refused by `processes.start`."""
    health = f"{api_url(settings)}/health"
    if processes.running(settings.run_dir, "prefect-server") is None and processes.healthy(health):
        log.info("prefect server: using the one already answering at %s", api_url(settings))
        return None
    env = prefect_env(settings)
    server = processes.start(
        settings.run_dir,
        "prefect-server",
        _prefect(
            "server", "start", "--host", settings.prefect_host, "--port", str(settings.prefect_port)
        ),
        health_url=health,
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        timeout=180,
        port_setting="VOLPRED_PREFECT_PORT",
    )
    log.info("prefect server: %s (pid %d)", api_url(settings), server.pid)
    return server


def serve(settings: Settings) -> dict[str, str]:
    """Start (or reuse) the server, create/refresh the pool, deploy, apply the alert
    automations (`volpred.runtime.automations`), start one worker."""
    env = prefect_env(settings)
    server = ensure_server(settings)
    server_pid = str(server.pid) if server else "(started elsewhere)"
    _run(
        _prefect(
            "work-pool",
            "create",
            settings.work_pool,
            "--type",
            "process",
            "--base-job-template",
            str(POOL_TEMPLATE),
            "--overwrite",
        ),
        env,
    )
    _run(_prefect("--no-prompt", "deploy", "--name", "daily", "--name", "review"), env)
    applied = _apply_automations(settings)
    worker = processes.start(
        settings.run_dir,
        "prefect-worker",
        _prefect("worker", "start", "--pool", settings.work_pool, "--type", "process"),
        env=env,
        cwd=PROJECT_DIR,
        timeout=5,
    )
    ui = f"http://{settings.prefect_host}:{settings.prefect_port}"
    log.info("worker on pool %s (pid %d); UI at %s", settings.work_pool, worker.pid, ui)
    return {
        "ui": ui,
        "api": api_url(settings),
        "pool": settings.work_pool,
        "server_pid": server_pid,
        "worker_pid": str(worker.pid),
        "automations": ", ".join(f"{a['name']} ({a['action']})" for a in applied),
        "alert_webhook": settings.alert_webhook_url,
    }


def _apply_automations(settings: Settings) -> list[dict[str, str]]:
    """deployments/automations.yaml and its webhook block, on the local server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from volpred.runtime.automations import apply_automations

    with temporary_settings(updates={PREFECT_API_URL: api_url(settings)}):
        return apply_automations(settings)


def stop_all(settings: Settings) -> list[str]:
    """Stop every service volpred started (and drop their "running" markers); returns the
    names that were running."""
    from volpred.serving.api.launcher import MARKER as API_MARKER
    from volpred.serving.dashboard.launcher import MARKER as DASHBOARD_MARKER

    stopped = [
        name
        for name in SERVICES
        if processes.stop(settings.run_dir, name, grace=STOP_GRACE.get(name, 10.0))
    ]
    for marker in (API_MARKER, DASHBOARD_MARKER):
        (settings.run_dir / marker).unlink(missing_ok=True)
    return stopped
