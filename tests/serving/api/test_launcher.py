"""The API as users run it: gunicorn started by run_flask_api's function, queried, given a new
model while under requests, and stopped. (Fuzzing against /openapi.json with schemathesis, load
and damaged model files: tests/faults/test_api_faults.py.)"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.support.runs import copy_served, free_port
from volpred.model import candidate
from volpred.runtime import processes
from volpred.serving.api.launcher import MARKER, NAME, start_api, stop_api, wait_for_version

pytestmark = pytest.mark.integration


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def live(served, tmp_path_factory):
    settings = copy_served(
        served, tmp_path_factory.mktemp("live-api"), api_port=free_port(), api_reload_interval=0.5
    )
    status = start_api(settings)
    yield settings, status
    stop_api(settings)


def test_started_by_the_task_function_with_marker(live):
    settings, status = live
    assert status.model_version == candidate.served_card(settings).version
    marker = dict(
        line.split(": ", 1) for line in (settings.run_dir / MARKER).read_text().splitlines()
    )
    assert marker["url"] == settings.api_url and int(marker["pid"]) == status.pid
    assert marker["model_version"] == status.model_version and marker["started_at"]
    code, body = get(f"{settings.api_url}/predict?date=latest")
    assert code == 200 and body["predictions"][0]["model_version"] == status.model_version


def test_a_second_start_reuses_the_healthy_server(live):
    settings, status = live
    again = start_api(settings)
    assert again.pid == status.pid


def test_new_model_is_served_without_restart_or_failed_request(live):
    settings, status = live
    failures: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            code, body = get(f"{settings.api_url}/predict?date=latest")
            if code != 200:
                failures.append(f"{code} {body}")
            else:
                versions.add(body["model_version"])

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        saved = candidate.promote(settings)
        answer = wait_for_version(settings, saved.version, timeout=60)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert answer["model_version"] == saved.version
    assert not failures
    assert versions == {status.model_version, saved.version}
    assert processes.running(settings.run_dir, NAME).pid == status.pid  # no restart


def test_api_key_enforced_by_the_live_server(served, tmp_path):
    settings = copy_served(served, tmp_path, api_port=free_port(), api_key="k3y")
    start_api(settings)
    try:
        assert get(f"{settings.api_url}/predict")[0] == 401
        assert get(f"{settings.api_url}/predict", {"X-API-Key": "nope"})[0] == 401
        assert get(f"{settings.api_url}/predict", {"X-API-Key": "k3y"})[0] == 200
        assert get(f"{settings.api_url}/ready")[0] == 200
    finally:
        assert stop_api(settings)
    assert processes.running(settings.run_dir, NAME) is None
    assert not (settings.run_dir / MARKER).exists()
