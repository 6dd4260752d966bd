"""The API as a container on a state volume a flow run filled: health, a forecast, and the
image's HEALTHCHECK command."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.containers.conftest import IMAGE, podman, unique, wait_until
from tests.support.runs import free_port

pytestmark = pytest.mark.container


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return 0, {}


def test_the_api_container_serves_the_volume_s_model(ran_volume, cleanup):
    name, port = unique("volpred-test-api"), free_port()
    cleanup.append(["rm", "-f", "-t", "2", name])
    podman(
        "run", "-d", "--name", name, "--read-only",
        "-v", f"{ran_volume}:/var/lib/volpred",
        "-e", "VOLPRED_API_HOST=0.0.0.0",
        "-e", "VOLPRED_HEALTH_URL=http://127.0.0.1:5000/health",
        "-p", f"127.0.0.1:{port}:5000",
        IMAGE, "volpred", "api",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: get(f"{base}/health")[0] == 200, 90, "the API's /health")
    status, body = get(f"{base}/predict?date=latest")
    assert status == 200, body
    assert body
    assert "vol" in json.dumps(body)
    check = podman("healthcheck", "run", name, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
