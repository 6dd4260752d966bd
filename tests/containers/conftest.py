"""Fixtures of the container tests: Podman with the project's settings, the image (built
once per session by the project's own script), a state volume, and cleanup of whatever a test
started. Without Podman every test here is skipped with what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "deployments" / "podman" / "containers.conf"
IMAGE = "localhost/volpred:latest"
POSTGRES_IMAGE = "localhost/volpred-postgres:15"
INSTALL = (
    "needs Podman: apt-get install podman runc fuse-overlayfs slirp4netns uidmap mmdebstrap "
    "(as root), then make test-container"
)


def podman_env() -> dict[str, str]:
    return os.environ | {"CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["podman", *args], capture_output=True, text=True, env=podman_env(), timeout=timeout
    )
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result


def wait_until(check, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:g} s")


@pytest.fixture(scope="session", autouse=True)
def podman_present() -> None:
    if shutil.which("podman") is None:
        pytest.skip(INSTALL)


@pytest.fixture(scope="session")
def image(podman_present: None) -> dict[str, object]:
    """The image, built by deployments/podman/build-image.sh; its build time and size."""
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "deployments" / "podman" / "build-image.sh")],
        capture_output=True,
        text=True,
        env=podman_env(),
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {
        "seconds": time.monotonic() - started,
        "log": result.stdout,
        "inspect": podman("image", "inspect", IMAGE).stdout,
    }


@pytest.fixture
def cleanup() -> Iterator[list[list[str]]]:
    """Podman commands run after the test whatever happened (`rm -f`, `volume rm -f`)."""
    commands: list[list[str]] = []
    yield commands
    for command in reversed(commands):
        podman(*command, check=False)


class Volume(str):
    """A volume's name, with the output of the run that filled it."""

    log: str = ""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def ran_volume(image: dict[str, object]) -> Iterator[Volume]:
    """A state volume the image's default command (the whole flow on the sample source) ran
    in once, with a read-only root filesystem."""
    name = unique("volpred-test-state")
    podman("volume", "create", name)
    try:
        run = podman(
            "run",
            "--rm",
            "--read-only",
            "--no-healthcheck",
            "-e",
            "VOLPRED_SAMPLE_START=2008-01-02",
            "-e",
            "VOLPRED_MIN_TRAIN_YEARS=5",
            "-e",
            "VOLPRED_SELECTION_YEARS=2",
            "-e",
            "VOLPRED_REFIT_EVERY=504",
            "-v",
            f"{name}:/var/lib/volpred",
            IMAGE,
            timeout=600,
        )
        volume = Volume(name)
        volume.log = run.stdout + run.stderr
        yield volume
    finally:
        podman("volume", "rm", "-f", name, check=False)


def volume_path(name: str) -> Path:
    return Path(podman("volume", "inspect", "--format", "{{.Mountpoint}}", name).stdout.strip())
