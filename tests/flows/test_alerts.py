"""KPI and failure alerts against a real Prefect server: the run emits its facts and alerts as
events, the automations of deployments/automations.yaml fire, and their Custom Webhook block
posts to a listener this test runs on loopback."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.support.runs import FAST_TRAINING
from tests.support.webhooks import webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def events(prefix: str, flow_run_id: str, timeout: float = 30) -> list[dict]:
    """Events of one flow run whose name starts with `prefix`, read back from the server
    (persisted in batches, so polled)."""
    from prefect.settings import PREFECT_API_URL

    query = {
        "filter": {
            "event": {"prefix": [prefix]},
            "related": {"id": [f"prefect.flow-run.{flow_run_id}"]},
        },
        "limit": 50,
    }
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.post(f"{PREFECT_API_URL.value()}/events/filter", json=query, timeout=10)
        answer.raise_for_status()
        found = answer.json()["events"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


@pytest.fixture
def alerting(prefect_server, settings, monkeypatch):
    """The automations applied with a webhook block pointed at a loopback listener; removed
    afterwards, so that no other test's runs notify."""
    from volpred.runtime.automations import apply_automations, delete_automations

    for key, value in FAST_TRAINING.items():
        monkeypatch.setenv(key, value)
    with webhook_receiver() as receiver:
        applied = settings.with_overrides(
            alert_webhook_url=receiver.url, alert_webhook_block=f"alerts-{uuid.uuid4().hex[:8]}"
        )
        apply_automations(applied)
        try:
            yield receiver
        finally:
            delete_automations()


def test_a_forecast_above_the_threshold_emits_the_event_and_the_webhook_arrives(
    alerting, tmp_path, monkeypatch
):
    from volpred.flows.pipeline import volpred_pipeline

    # The sample's forecast is near 14%: a 5% threshold forces the crossing.
    monkeypatch.setenv("VOLPRED_ALERT_VOL_ABOVE", "0.05")
    state = volpred_pipeline(
        data_dir=tmp_path / "data",
        artifacts_dir=tmp_path / "artifacts",
        results_dir=tmp_path / "results",
        services=[],
        report=False,
        return_state=True,
    )
    assert state.is_completed(), state.message
    checked = state.result()["alerts"]
    assert [a["kind"] for a in checked["alerts"]] == ["forecast-vol-high"]
    facts = checked["facts"]
    assert facts["thresholds"]["vol_above"] == 0.05 and facts["vix"] is not None
    assert facts["vol_minus_vix"] == pytest.approx(100 * facts["vol"] - facts["vix"], abs=1e-3)

    run = facts["run_id"]  # the session's other runs emit events too
    (event,) = events("volpred.alert.forecast-vol-high", run)
    assert event["payload"]["details"]["threshold"] == 0.05
    assert event["resource"]["prefect.resource.id"] == "volpred.forecast.spx-vol"
    (fact,) = events("volpred.run.facts", run)
    assert fact["payload"]["model_version"] == facts["model_version"]

    hook = alerting.wait_for(lambda b: b.get("subject") == "volpred: forecast vol above threshold")
    assert "above the threshold 5.0%" in hook["body"] and facts["model_version"] in hook["body"]
    # The offline record: the JSON lines beside the data.
    lines = (tmp_path / "data" / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(x)["kind"] for x in lines] == ["forecast-vol-high"]


def test_a_failed_daily_run_sends_the_failure_alert(alerting, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.flow_engine import run_flow

    from volpred.flows.pipeline import volpred_pipeline

    volpred_pipeline.to_deployment(name="daily").apply()
    params = {
        "source": "csv",
        "csv_path": str(tmp_path / "missing.csv"),
        "data_dir": str(tmp_path / "data"),
        "artifacts_dir": str(tmp_path / "artifacts"),
        "results_dir": str(tmp_path / "results"),
        "services": [],
        "report": False,
    }
    scheduled = run_deployment("volpred-pipeline/daily", parameters=params, timeout=0)
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(scheduled.id)
    # This process plays the worker: the deployment's run, executed here, fails to ingest.
    state = run_flow(volpred_pipeline, flow_run=flow_run, parameters=params, return_type="state")
    assert state.is_failed()

    hook = alerting.wait_for(lambda b: b.get("subject") == "volpred: the daily run is Failed")
    assert flow_run.name in hook["body"] and "missing.csv" in hook["body"]
    (line,) = (tmp_path / "data" / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(line)["kind"] == "run-failed"
