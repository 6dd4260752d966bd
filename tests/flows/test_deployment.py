"""prefect.yaml against a real server: the deployment, its cron schedule, a worker run."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.runs import isolated_run_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def prefect_cli(*args, env, timeout=300):
    result = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_deploy_schedules_and_a_worker_runs_the_flow(prefect_server, tmp_path, settings):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    # The schedule and the worker are under test here, not the services or the report
    # (tests/flows/test_pipeline.py runs those).
    env = isolated_run_env(tmp_path)
    prefect_cli(
        "work-pool",
        "create",
        "volpred-process",
        "--type",
        "process",
        "--base-job-template",
        "deployments/process-pool.json",
        "--overwrite",
        env=env,
    )
    prefect_cli("--no-prompt", "deploy", "--name", "daily", env=env)

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("volpred-pipeline/daily")
    assert deployment.work_pool_name == "volpred-process"
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 17 * * 1-5"
    assert schedule.schedule.timezone == "America/New_York"
    assert schedule.parameters == {"source": "sample", "refresh": False}

    flow_run = run_deployment("volpred-pipeline/daily", timeout=0)
    prefect_cli(
        "worker",
        "start",
        "--pool",
        "volpred-process",
        "--type",
        "process",
        "--run-once",
        env=env,
        timeout=600,
    )
    with get_client(sync_client=True) as client:
        finished = client.read_flow_run(flow_run.id)
    assert finished.state.is_completed(), finished.state
    assert (tmp_path / "data" / "cleaned_data.csv").is_file()
    assert (tmp_path / "artifacts" / "trained_model.skops").is_file()
