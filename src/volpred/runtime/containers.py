"""`volpred serve --pool docker`: flow runs in containers of the project's image.

A docker-type work pool (`deployments/docker-pool.json`, prefect-docker) and its worker start
one fresh container per flow run. The worker needs a Docker API: the caller's `DOCKER_HOST`, a
Docker daemon's socket when one answers, or else a `podman system service` started here on a
socket under `run/` (Podman serves the same API, with no daemon to install). The containers
run on the host's network, so they reach the host's Prefect server at its loopback address,
and write to the host's own data, artifacts, results and reports folders, bind-mounted at the
same paths: the host's API picks up each model they promote, and the host's runs and the
containers' share their checkpoints.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from volpred.config import Settings
from volpred.runtime import orchestration, processes

log = logging.getLogger(__name__)
POOL_TEMPLATE = orchestration.PROJECT_DIR / "deployments" / "docker-pool.json"
#: Podman's settings for this project (runc; ulimits that root without CAP_SYS_RESOURCE may set).
CONTAINERS_CONF = orchestration.PROJECT_DIR / "deployments" / "podman" / "containers.conf"
#: The deployment of prefect.yaml that runs on the docker pool.
DEPLOYMENT = "daily-docker"
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
INSTALL_HINT = (
    "install Podman (Debian: apt-get install podman runc fuse-overlayfs slirp4netns uidmap) "
    "or run a Docker daemon"
)


class ContainerError(processes.ServiceError):
    """No Docker API, no image, or the docker pool's worker could not start."""


def _unix_path(docker_host: str) -> str | None:
    return docker_host.removeprefix("unix://") if docker_host.startswith("unix://") else None


def ping(docker_host: str, timeout: float = 2.0) -> bool:
    """Whether a Docker API answers at `docker_host` (`unix://PATH` or `tcp://HOST:PORT`)."""
    path = _unix_path(docker_host)
    try:
        if path is not None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(path)
        else:
            host, _, port = docker_host.removeprefix("tcp://").rpartition(":")
            conn = socket.create_connection((host, int(port)), timeout=timeout)
        with conn:
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return conn.recv(64).split(b" ")[1:2] == [b"200"]
    except (OSError, ValueError, IndexError):
        return False


def podman_env() -> dict[str, str]:
    """Podman reads the project's containers.conf unless the caller chose another."""
    return {"CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}


def podman_socket(settings: Settings) -> Path:
    return settings.run_dir.resolve() / "podman.sock"


def ensure_docker_api(settings: Settings, timeout: float = 30.0) -> str:
    """The `DOCKER_HOST` the worker talks to: the caller's, a Docker daemon's, or a Podman
    system service started in the background (stopped by `volpred stop`)."""
    given = os.environ.get("DOCKER_HOST")
    if given:
        if not ping(given):
            raise ContainerError(f"no Docker API answers at DOCKER_HOST={given}")
        return given
    for path in DOCKER_SOCKETS:
        if Path(path).exists() and ping(f"unix://{path}"):
            return f"unix://{path}"
    podman = shutil.which("podman")
    if podman is None:
        raise ContainerError(f"no Docker API and no podman: {INSTALL_HINT}")
    sock = podman_socket(settings)
    url = f"unix://{sock}"
    if processes.running(settings.run_dir, "podman-service") is None or not ping(url):
        processes.stop(settings.run_dir, "podman-service")
        sock.unlink(missing_ok=True)
        processes.start(
            settings.run_dir,
            "podman-service",
            [podman, "system", "service", "--time=0", url],
            env=podman_env(),
            timeout=5,
        )
    deadline = time.monotonic() + timeout
    while not ping(url):
        if time.monotonic() > deadline:
            processes.stop(settings.run_dir, "podman-service")
            raise ContainerError(f"podman system service did not answer at {url}")
        time.sleep(0.2)
    return url


def image_present(docker_host: str, image: str) -> bool:
    import docker
    from docker.errors import DockerException, ImageNotFound

    client = docker.DockerClient(base_url=docker_host)
    try:
        client.images.get(image)
        return True
    except ImageNotFound:
        return False
    except DockerException as exc:
        raise ContainerError(f"asking {docker_host} for {image} failed: {exc}") from exc
    finally:
        client.close()


#: Settings that name this host's own processes, ports and programs: a flow container has
#: its own (and starts no services: its runs leave serving to the host).
HOST_ONLY = {
    "VOLPRED_RUN_DIR",
    "VOLPRED_PREFECT_HOST",
    "VOLPRED_PREFECT_PORT",
    "VOLPRED_API_HOST",
    "VOLPRED_API_PORT",
    "VOLPRED_DASHBOARD_HOST",
    "VOLPRED_DASHBOARD_PORT",
    "VOLPRED_DASHBOARD_API_URL",
    "VOLPRED_SERVICES",
    "VOLPRED_CHROMIUM_PATH",
    "VOLPRED_HEALTH_URL",
}


def passed_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The `VOLPRED_*` variables of the worker's environment that flow containers get too
    (the source, training and report settings), so that a container runs what the host
    configured."""
    environ = dict(os.environ if environ is None else environ)
    return {
        k: v
        for k, v in environ.items()
        if k.startswith("VOLPRED_") and k not in HOST_ONLY and not k.startswith("VOLPRED_DOCKER_")
    }


def state_mounts(settings: Settings) -> dict[str, Path]:
    """The host folders a flow container writes, by their setting's env name, resolved."""
    folders = {
        "VOLPRED_DATA_DIR": settings.data_dir,
        "VOLPRED_ARTIFACTS_DIR": settings.artifacts_dir,
        "VOLPRED_RESULTS_DIR": settings.results_dir,
        "VOLPRED_REPORT_DIR": settings.report_dir,
    }
    return {name: path.resolve() for name, path in folders.items()}


def pool_template(
    settings: Settings, *, user: str | None = None, template: Path = POOL_TEMPLATE
) -> dict[str, Any]:
    """The docker pool's base job template: `deployments/docker-pool.json` (image, pull
    policy, network, the container's env) with this host's folders bind-mounted at their own
    paths instead of its named volume, and the containers running as `user` ("uid:gid", by
    default this process's), who owns those folders."""
    base = json.loads(template.read_text())
    props = base["variables"]["properties"]
    mounts = state_mounts(settings)
    props["image"]["default"] = settings.docker_image
    props["network_mode"]["default"] = settings.docker_network_mode
    props["volumes"]["default"] = [f"{p}:{p}" for p in mounts.values()]
    env = dict(props["env"].get("default", {})) | passed_settings()
    env |= {name: str(path) for name, path in mounts.items()}
    # The container's user may be any host user: its Prefect home and pid files go to the
    # container's own /tmp, never to a folder the worker's environment names on the host.
    env["PREFECT_HOME"] = "/tmp/prefect"  # noqa: S108  # nosec B108 - the container's /tmp
    env["VOLPRED_RUN_DIR"] = "/tmp/volpred-run"  # noqa: S108  # nosec B108 - the container's /tmp
    if settings.docker_network_mode != "host":
        env["PREFECT_API_URL"] = f"http://host.containers.internal:{settings.prefect_port}/api"
    props["env"]["default"] = env
    props["container_create_kwargs"]["default"] = {"user": user or f"{os.getuid()}:{os.getgid()}"}
    return base


def serve_docker(settings: Settings) -> dict[str, str]:
    """Start (or reuse) the server and a Docker API, create the docker pool, deploy
    `daily-docker`, start a docker worker."""
    try:
        import prefect_docker  # noqa: F401
    except ImportError as exc:
        raise ContainerError(
            "prefect-docker is not installed: make serve-docker installs it "
            "(uv sync --group docker)"
        ) from exc
    docker_host = ensure_docker_api(settings)
    if not image_present(docker_host, settings.docker_image):
        raise ContainerError(f"no image {settings.docker_image}: build it with `make image`")
    env = orchestration.prefect_env(settings) | {
        "DOCKER_HOST": docker_host,
        # prefect-docker reads Podman's version (4.x) as a Docker Engine older than 20.10 and
        # warns about host.docker.internal, which runs on the host network never use.
        "PYTHONWARNINGS": "ignore:`host.docker.internal` could not:UserWarning",
    }
    server = orchestration.ensure_server(settings)
    for path in state_mounts(settings).values():
        path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
        json.dump(pool_template(settings), tmp)
    try:
        orchestration.prefect_cli(
            env,
            "work-pool",
            "create",
            settings.docker_work_pool,
            "--type",
            "docker",
            "--base-job-template",
            tmp.name,
            "--overwrite",
        )
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    orchestration.prefect_cli(env, "--no-prompt", "deploy", "--name", DEPLOYMENT)
    worker = processes.start(
        settings.run_dir,
        "prefect-docker-worker",
        orchestration.prefect_command(
            "worker", "start", "--pool", settings.docker_work_pool, "--type", "docker"
        ),
        env=env,
        cwd=orchestration.PROJECT_DIR,
        timeout=5,
    )
    ui = f"http://{settings.prefect_host}:{settings.prefect_port}"
    log.info(
        "docker worker on pool %s (pid %d, %s); UI at %s",
        settings.docker_work_pool,
        worker.pid,
        docker_host,
        ui,
    )
    return {
        "ui": ui,
        "api": orchestration.api_url(settings),
        "pool": settings.docker_work_pool,
        "deployment": f"volpred-pipeline/{DEPLOYMENT}",
        "image": settings.docker_image,
        "docker_host": docker_host,
        "server_pid": str(server.pid) if server else "(started elsewhere)",
        "worker_pid": str(worker.pid),
    }
