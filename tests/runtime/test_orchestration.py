"""The local Prefect server: one answering at the address is used, not doubled; anything else
there is refused."""

from __future__ import annotations

import pytest

from volpred.runtime import orchestration, processes


def test_a_server_answering_elsewhere_is_used_not_doubled(settings, tmp_path, stranger):
    local = settings.with_overrides(run_dir=tmp_path / "run", prefect_port=stranger(200))
    assert orchestration.ensure_server(local) is None
    assert processes.running(local.run_dir, "prefect-server") is None  # nothing started


def test_something_else_at_the_address_is_refused(settings, tmp_path, stranger):
    port = stranger(404)  # answers, but not Prefect's health check
    local = settings.with_overrides(run_dir=tmp_path / "run", prefect_port=port)
    with pytest.raises(processes.ServiceError) as caught:
        orchestration.ensure_server(local)
    message = str(caught.value)
    assert f"something else answers at http://127.0.0.1:{port}" in message, message
    assert "VOLPRED_PREFECT_PORT" in message, message
    assert processes.running(local.run_dir, "prefect-server") is None
    assert not processes.pid_file(local.run_dir, "prefect-server").exists()
