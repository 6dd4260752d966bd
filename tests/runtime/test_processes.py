"""Starting a background service: what already answers at its address decides. Its own
running process (pid file in the run folder) is kept; anything else is refused, never taken
for the service, whoever asks (processes.start, the API's and the dashboard's launchers)."""

from __future__ import annotations

import sys
from dataclasses import asdict

import pytest

from tests.support.runs import free_port
from volpred.runtime import processes
from volpred.runtime.storage import atomic_write_json
from volpred.serving.api.launcher import MARKER as API_MARKER
from volpred.serving.api.launcher import start_api
from volpred.serving.dashboard.launcher import MARKER as DASHBOARD_MARKER
from volpred.serving.dashboard.launcher import start_dashboard

#: A command that would never listen anywhere: were it reported started, the stranger's
#: answer was taken for its own.
IDLE = [sys.executable, "-c", "import time; time.sleep(60)"]


def refused(message: str, port: int) -> bool:
    return f"something else answers at http://127.0.0.1:{port}" in message


@pytest.mark.parametrize("status", [200, 404])
def test_a_stranger_answering_is_refused_not_taken_for_the_service(tmp_path, stranger, status):
    port = stranger(status)
    url = f"http://127.0.0.1:{port}/health"
    with pytest.raises(processes.ServiceError) as caught:
        processes.start(tmp_path, "demo", IDLE, health_url=url, port_setting="DEMO_PORT")
    message = str(caught.value)
    assert refused(message, port), message
    assert "stop it, or choose another port (DEMO_PORT)" in message, message
    assert not processes.pid_file(tmp_path, "demo").exists()  # nothing was started
    assert processes.answers(url)  # ... and the stranger was left alone


def test_a_listener_that_speaks_no_http_is_refused(tmp_path, listener):
    url = f"http://127.0.0.1:{listener}/health"
    with pytest.raises(processes.ServiceError, match="something else answers"):
        processes.start(tmp_path, "demo", IDLE, health_url=url)
    assert not processes.pid_file(tmp_path, "demo").exists()


def test_a_stale_pid_file_does_not_make_the_stranger_ours(tmp_path, stranger):
    port = stranger(200)
    dead = processes.Service("demo", 2**22 + 1, IDLE, None, "demo.log", "then")  # no such pid
    atomic_write_json(processes.pid_file(tmp_path, "demo"), asdict(dead))
    with pytest.raises(processes.ServiceError, match="something else answers"):
        processes.start(tmp_path, "demo", IDLE, health_url=f"http://127.0.0.1:{port}/")


def test_its_own_running_service_is_kept(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}/"
    try:
        first = processes.start(tmp_path, "demo", cmd, health_url=url, timeout=30)
        again = processes.start(tmp_path, "demo", cmd, health_url=url, timeout=30)
        assert again.pid == first.pid  # not "something else": its pid file says it is ours
    finally:
        processes.stop(tmp_path, "demo")
    assert not processes.answers(url)


def test_start_dashboard_refuses_a_stranger_on_its_port(settings, tmp_path, stranger):
    port = stranger(200)  # answers /_stcore/health as a dashboard of another checkout would
    local = settings.with_overrides(run_dir=tmp_path / "run", dashboard_port=port)
    with pytest.raises(processes.ServiceError) as caught:
        start_dashboard(local, timeout=10)
    message = str(caught.value)
    assert refused(message, port) and "VOLPRED_DASHBOARD_PORT" in message, message
    assert not (local.run_dir / DASHBOARD_MARKER).exists()
    assert processes.running(local.run_dir, "dashboard") is None


def test_start_api_refuses_a_stranger_on_its_port(settings, tmp_path, stranger):
    port = stranger(200)
    local = settings.with_overrides(run_dir=tmp_path / "run", api_port=port)
    with pytest.raises(processes.ServiceError) as caught:
        start_api(local)
    assert refused(str(caught.value), port), caught.value
    assert not (local.run_dir / API_MARKER).exists()
    assert processes.running(local.run_dir, "api") is None
