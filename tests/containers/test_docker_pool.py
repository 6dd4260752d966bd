"""`volpred serve --pool docker` for real: the host's Prefect server, Podman's Docker API, the
volpred-docker pool and a docker worker; a deployment's flow run completes in a container and
writes to the host's folders; `volpred stop` stops it all promptly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.containers.conftest import podman, podman_env, wait_until
from tests.support.runs import FAST_TRAINING, free_port

pytestmark = pytest.mark.container
ROOT = Path(__file__).resolve().parents[2]
VOLPRED = [sys.executable, "-m", "volpred.cli"]


def test_the_served_template_is_one_prefect_docker_accepts(settings):
    """prefect-docker is installed with the container tools (`make setup-containers`)."""
    from prefect_docker.worker import DockerWorker

    from volpred.runtime import containers

    template = containers.pool_template(settings, user="1000:1000")
    assert set(template["job_configuration"]) == set(
        DockerWorker.get_default_base_job_template()["job_configuration"]
    )


def test_a_docker_worker_runs_a_deployment_s_flow_in_a_container(image, tmp_path):
    port = free_port()
    env = (
        podman_env()
        | FAST_TRAINING
        | {
            "VOLPRED_PREFECT_PORT": str(port),
            "VOLPRED_RUN_DIR": str(tmp_path / "run"),
            "VOLPRED_DATA_DIR": str(tmp_path / "data"),
            "VOLPRED_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
            "VOLPRED_RESULTS_DIR": str(tmp_path / "results"),
            "VOLPRED_REPORT_DIR": str(tmp_path / "reports"),
            "VOLPRED_REPORT": "false",
            # A PREFECT_HOME of the host's, which flow containers must not inherit.
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
        }
    )
    for name in ("PREFECT_API_URL", "DOCKER_HOST", "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"):
        env.pop(name, None)
    try:
        served = subprocess.run(
            [*VOLPRED, "serve", "--pool", "docker"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert served.returncode == 0, served.stdout + served.stderr
        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        started = time.monotonic()
        with (
            temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}),
            get_client(sync_client=True) as client,
        ):
            flow_run = run_deployment("volpred-pipeline/daily-docker", timeout=0)
            finished = wait_until(
                lambda: (r := client.read_flow_run(flow_run.id)).state.is_final() and r,
                300,
                "the docker pool's flow run",
                every=2,
            )
        seconds = time.monotonic() - started
        log = (tmp_path / "run" / "prefect-docker-worker.log").read_text()
        assert finished.state.is_completed(), f"{finished.state}\n{log[-4000:]}"
        print(f"docker pool flow run: {seconds:.1f} s")
        # Written by the container into the host's own folders, at their own paths.
        assert (tmp_path / "artifacts" / "model_card.json").is_file()
        assert (tmp_path / "data" / "cleaned_data.parquet").is_file()
        # The container's output is the worker's log: no Prefect home of the host's in it.
        assert "Failed to create the Prefect home" not in log, log[-4000:]
        assert "without a flow run id" not in log, log[-4000:]
    finally:
        t0 = time.monotonic()
        stopped = subprocess.run(
            [*VOLPRED, "stop"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        stop_seconds = time.monotonic() - t0
    assert stopped.returncode == 0, stopped.stderr
    assert "prefect-docker-worker" in stopped.stdout and "podman-service" in stopped.stdout
    assert stop_seconds < 20, stop_seconds
    left = podman("ps", "-a", "--filter", f"label=io.prefect.flow-run-id={flow_run.id}", "-q")
    assert left.stdout.strip() == ""
