"""The Dockerfile, checked without a Docker daemon: lint it, and run what it runs."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
pytestmark = pytest.mark.integration


def run_commands() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [" ".join(m.split()) for m in re.findall(r"^RUN (.+)$", text, re.M)]


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, ROOT / "deployments/postgres/Dockerfile"])
def test_hadolint_passes(dockerfile):
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("apt-cache") is None or not any(Path("/var/lib/apt/lists").glob("*Packages*")),
    reason="needs Debian's apt-cache with package lists",
)
def test_every_system_package_exists_in_debian():
    (install,) = [c for c in run_commands() if "apt-get install" in c]
    packages = install.split("--no-install-recommends")[1].split("&&")[0].split()
    result = subprocess.run(["apt-cache", "show", *packages], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for package in packages:
        assert re.search(rf"^Package: {re.escape(package)}$", result.stdout, re.M), package


def test_the_image_python_steps_work_in_a_clean_virtual_environment(tmp_path):
    """Replays the Dockerfile's uv steps into a new environment and runs its entry point."""
    uv = shutil.which("uv") or str(ROOT / ".make/tools/bin/uv")
    venv = tmp_path / "venv"
    env = os.environ | {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": sys.executable}
    steps = [c for c in run_commands() if c.startswith("uv sync")]
    assert steps == [
        "uv sync --frozen --no-default-groups --no-install-project",
        "uv sync --frozen --no-default-groups",
    ]
    for step in steps:
        result = subprocess.run(
            [uv, *step.split()[1:]], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
    for command in (["volpred", "--help"], ["prefect", "--version"]):
        result = subprocess.run(
            [str(venv / "bin" / command[0]), *command[1:]], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, result.stderr
    assert not (venv / "bin" / "pytest").exists()  # no test tools in the image
    assert not (venv / "bin" / "podman-compose").exists()  # nor the host's container tools
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import volpred.flows.pipeline"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr


def test_compose_services_run_existing_volpred_commands():
    import yaml
    from typer.main import get_command

    from volpred.cli import app

    compose = yaml.safe_load((ROOT / "deployments" / "docker-compose.yml").read_text())
    commands = set(get_command(app).commands)
    used = {
        s["command"][1]
        for s in compose["services"].values()
        if isinstance(s.get("command"), list) and s["command"][0] == "volpred"
    }
    assert used == {"api", "dashboard"} and used <= commands
    assert compose["services"]["worker"]["environment"]["VOLPRED_SERVICES"] == "[]"
    assert compose["services"]["dashboard"]["environment"]["VOLPRED_DASHBOARD_API_URL"] == (
        "http://api:5000"
    )


def test_compose_runs_the_server_on_postgres_and_every_service_restarts_on_failure():
    import yaml

    compose = yaml.safe_load((ROOT / "deployments" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "worker", "api", "dashboard"}
    server = services["prefect-server"]
    assert "postgresql+asyncpg://" in server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    # Each waits for what it needs itself: podman-compose ignores depends_on conditions.
    assert (
        "volpred wait" in server["command"][-1] and "tcp://postgres:5432" in server["command"][-1]
    )
    assert "volpred wait" in services["worker"]["command"][-1]
    assert all(s.get("restart") == "on-failure" for s in services.values())
