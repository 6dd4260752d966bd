"""deployments/docker-compose.yml with podman-compose (Docker Compose where a Docker daemon
runs): a Prefect server with its UI on PostgreSQL, a worker, the API and the dashboard; one
triggered run completes, the API serves its model, the dashboard reaches it through the API
container; `down -v` leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.containers.conftest import POSTGRES_IMAGE, podman, podman_env, unique, wait_until
from tests.support.runs import free_port

pytestmark = pytest.mark.container
ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deployments" / "docker-compose.yml"


def compose_command() -> list[str]:
    found = shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose"))
    if not Path(found).exists():
        pytest.skip("needs podman-compose: make test-container installs it (uv group docker)")
    return [found]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except OSError:
        return 0, b""


@pytest.fixture(scope="module")
def postgres_image(image) -> str:
    if podman("image", "exists", POSTGRES_IMAGE, check=False).returncode != 0:
        podman(
            "build", "--format", "docker", "-t", POSTGRES_IMAGE,
            str(ROOT / "deployments" / "postgres"), timeout=600,
        )  # fmt: skip
    return POSTGRES_IMAGE


def test_compose_comes_up_runs_the_flow_and_goes_down(postgres_image):
    project = unique("volpred-test")
    ports = {name: free_port() for name in ("PREFECT", "API", "DASHBOARD")}
    env = podman_env() | {f"VOLPRED_COMPOSE_{k}_PORT": str(v) for k, v in ports.items()}
    env.pop("PREFECT_API_URL", None)
    compose = [*compose_command(), "-p", project, "-f", str(COMPOSE_FILE)]

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*compose, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )

    prefect = f"http://127.0.0.1:{ports['PREFECT']}"
    api = f"http://127.0.0.1:{ports['API']}"
    try:
        up = run("up", "-d")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        wait_until(lambda: fetch(f"{prefect}/api/health")[0] == 200, 240, "the Prefect server")
        status, page = fetch(f"{prefect}/")
        assert status == 200 and b"<html" in page.lower()  # the UI, served by uid 10001

        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings({PREFECT_API_URL: f"{prefect}/api"}),
            get_client(sync_client=True) as client,
        ):

            def deployed() -> bool:
                try:
                    client.read_deployment_by_name("volpred-pipeline/daily")
                    return True
                except Exception:  # noqa: BLE001 - not there yet
                    return False

            wait_until(deployed, 240, "the worker's deployment", every=2)
            started = time.monotonic()
            flow_run = run_deployment("volpred-pipeline/daily", timeout=0)
            finished = wait_until(
                lambda: (r := client.read_flow_run(flow_run.id)).state.is_final() and r,
                420,
                "the compose worker's flow run",
                every=2,
            )
        logs = run("logs", "worker").stdout[-4000:]
        assert finished.state.is_completed(), f"{finished.state}\n{logs}"
        print(f"compose flow run: {time.monotonic() - started:.1f} s")

        # The API container picks up the promoted model by itself.
        ready = wait_until(
            lambda: (a := fetch(f"{api}/ready"))[0] == 200 and json.loads(a[1]), 60, "/ready"
        )
        assert "version" in json.dumps(ready)
        dashboard = f"http://127.0.0.1:{ports['DASHBOARD']}/_stcore/health"
        wait_until(lambda: fetch(dashboard)[0] == 200, 90, "the dashboard")
        # The dashboard's own client, in its container, reads the model through the API's.
        through = podman(
            "exec", f"{project}_dashboard_1", "python", "-c",
            "from volpred.config import Settings;"
            "from volpred.serving.dashboard.client import ApiClient, ApiConfig;"
            "print(ApiClient(ApiConfig.from_settings(Settings())).model()['version'])",
        )  # fmt: skip
        assert through.stdout.strip() in json.dumps(ready), through.stdout
    finally:
        down = run("down", "-v", "-t", "5")
    assert down.returncode == 0, down.stderr[-3000:]
    left = podman("ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={project}")
    assert left.stdout.strip() == ""
    volumes = podman("volume", "ls", "-q", "--filter", f"label=io.podman.compose.project={project}")
    assert volumes.stdout.strip() == ""
