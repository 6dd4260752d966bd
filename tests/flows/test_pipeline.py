import json
import subprocess
import threading
import time
import urllib.request
from datetime import date

import polars as pl
import pytest

from tests.support.prefect_runs import task_states
from tests.support.runs import FAST_TRAINING
from volpred.data.sources.sample import simulate

pytestmark = pytest.mark.integration


#: A shorter synthetic history and fewer refits keep each training to seconds.


@pytest.fixture
def run_flow(tmp_path, settings, monkeypatch):
    """Run the pipeline with this test's own data, artifacts and results folders."""
    from volpred.flows.pipeline import volpred_pipeline

    for key, value in FAST_TRAINING.items():
        monkeypatch.setenv(key, value)

    def run(**params):
        params = {
            "data_dir": tmp_path / "data",
            "artifacts_dir": tmp_path / "artifacts",
            "results_dir": tmp_path / "results",
            "services": [],
            "report": False,
        } | params
        return volpred_pipeline(**params, return_state=True)

    return run


def summary_markdown(flow_state) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_state.state_details.flow_run_id])
            )
        )
    (summary,) = [a for a in artifacts if a.key == "run-summary"]
    return summary.data


def test_sample_run_writes_the_plan_checkpoints(prefect_server, tmp_path, run_flow):
    data = tmp_path / "data"
    state = run_flow()
    assert state.is_completed(), state.message
    result = state.result()
    assert result["raw"]["source"] == "sample" and result["raw"]["synthetic"] is True
    raw = pl.read_csv(data / "raw_market.csv")
    cleaned = pl.read_csv(data / "cleaned_data.csv")
    assert raw.height == result["raw"]["rows"] > 4000
    assert cleaned.height == result["cleaned"]["rows_out"]
    meta = json.loads((data / "raw_market.meta.json").read_text())
    assert meta["synthetic"] is True and meta["uris"][0].startswith("sample://")
    assert json.loads((data / "cleaning_report.json").read_text())["synthetic"] is True
    card = json.loads((tmp_path / "artifacts" / "model_card.json").read_text())
    assert card["data"]["synthetic"] is True and card["latest_forecast"]["date"] == "2025-12-31"
    assert summary_markdown(state).count("latest forecast (as of 2025-12-31") == 1
    assert "synthetic sample data" in summary_markdown(state)


def test_a_full_run_serves_the_model_and_writes_the_report(
    prefect_server, tmp_path, run_flow, monkeypatch
):
    """The whole DAG: services start on free ports and serve the saved version; the report is
    written; a second run reuses the running services and the cached report."""
    from tests.support.runs import free_port
    from volpred.config import Settings
    from volpred.runtime.orchestration import stop_all

    env = {
        "VOLPRED_RUN_DIR": str(tmp_path / "run"),
        "VOLPRED_REPORT_DIR": str(tmp_path / "reports"),
        "VOLPRED_API_PORT": str(free_port()),
        "VOLPRED_DASHBOARD_PORT": str(free_port()),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(artifacts_dir=tmp_path / "artifacts", data_dir=tmp_path / "data")
    try:
        state = run_flow(services=["api", "dashboard"], report=True)
        assert state.is_completed(), state.message
        result = state.result()
        version = result["saved"]["version"]
        assert result["api"]["model_version"] == version
        with urllib.request.urlopen(f"{settings.api_url}/ready", timeout=5) as r:
            assert json.loads(r.read())["model_version"] == version
        marker = (tmp_path / "run" / "flask_api_running.txt").read_text()
        assert f"model_version: {version}" in marker
        dash = (tmp_path / "run" / "streamlit_dashboard_running.txt").read_text()
        assert f"url: {settings.dashboard_url}" in dash and f"api_url: {settings.api_url}" in dash
        pdf = tmp_path / "reports" / "analysis_report.pdf"
        assert result["report"]["pdf"] == str(pdf) and result["report"]["model_version"] == version
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert version in text
        summary = summary_markdown(state)
        assert settings.api_url in summary and settings.dashboard_url in summary
        assert "analysis_report.pdf" in summary

        again = run_flow(services=["api", "dashboard"], report=True)
        states = task_states(again)
        assert states["generate_report"] == "Cached" and states["run_flask_api"] == "Completed"
        assert again.result()["api"]["pid"] == result["api"]["pid"]  # reused, not restarted
        assert again.result()["dashboard"]["pid"] == result["dashboard"]["pid"]
    finally:
        stopped = stop_all(settings)
    assert set(stopped) >= {"api", "dashboard"}
    assert not (tmp_path / "run" / "flask_api_running.txt").exists()


def test_second_run_is_served_from_checkpoints(prefect_server, tmp_path, run_flow):
    first = run_flow()
    assert set(task_states(first).values()) == {"Completed"}
    cleaned = (tmp_path / "data" / "cleaned_data.csv").read_bytes()
    second = run_flow()
    assert task_states(second) == {
        "ingest_data": "Cached",
        "clean_data": "Cached",
        "train_model": "Cached",
        "save_model": "Completed",  # decides each run; here: nothing to do
        "check_alerts": "Completed",  # emits each run's facts
    }
    assert second.result()["saved"]["reason"] == "already served"
    assert second.result()["cleaned"] == first.result()["cleaned"]
    assert (tmp_path / "data" / "cleaned_data.csv").read_bytes() == cleaned
    refreshed = run_flow(refresh=True)
    assert set(task_states(refreshed).values()) == {"Completed"}


def test_a_damaged_checkpoint_file_is_recomputed_not_trusted(prefect_server, tmp_path, run_flow):
    assert run_flow().is_completed()
    cleaned = tmp_path / "data" / "cleaned_data.csv"
    good = cleaned.read_bytes()
    cleaned.write_text("tampered\n")
    state = run_flow()
    assert state.is_completed()
    assert cleaned.read_bytes() == good


def test_bad_csv_fails_the_run_and_keeps_the_checkpoint(prefect_server, tmp_path, run_flow):
    data = tmp_path / "data"
    good = tmp_path / "good.csv"
    simulate(date(2008, 1, 2), date(2025, 12, 31), seed=7).write_csv(good)
    assert run_flow(source="csv", csv_path=good).is_completed()
    before = (data / "raw_market.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,spx_close,vix_close\n2021-01-04,abc,20\n")
    state = run_flow(source="csv", csv_path=bad)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"(?s)bad\.csv.*line 2, column 'spx_close'"):
        state.result()
    assert (data / "raw_market.csv").read_bytes() == before


def _worse_served_card_cannot_lose(artifacts_dir):
    """Make the served model's recorded metrics unbeatable, so any candidate looks worse."""
    version = (artifacts_dir / "latest").read_text().strip()
    card_path = artifacts_dir / "models" / version / "model_card.json"
    card = json.loads(card_path.read_text())
    overall = card["metrics"]["headline"]["overall"]
    overall["vol"]["selected"].update(rmse=1e-6, qlike=1e-6)
    card_path.write_text(json.dumps(card))
    return version


def test_crash_in_train_model_resumes_from_the_cleaned_checkpoint(
    prefect_server, run_flow, monkeypatch
):
    from volpred.model import training

    def crash(*args, **kwargs):
        raise RuntimeError("injected crash in train_model")

    with monkeypatch.context() as patch:
        patch.setattr(training, "train", crash)
        state = run_flow()
    assert state.is_failed()
    assert task_states(state)["train_model"] == "Failed"
    resumed = run_flow()
    assert resumed.is_completed()
    assert task_states(resumed) == {
        "ingest_data": "Cached",
        "clean_data": "Cached",
        "train_model": "Completed",
        "save_model": "Completed",
        "check_alerts": "Completed",
    }


def test_promotion_waits_for_an_analyst_and_times_out_to_the_current_model(
    prefect_server, tmp_path, run_flow, monkeypatch
):
    artifacts = tmp_path / "artifacts"
    first = run_flow()
    assert first.result()["saved"]["promoted"] is True
    served = _worse_served_card_cannot_lose(artifacts)
    monkeypatch.setenv("VOLPRED_APPROVAL_TIMEOUT", "3")
    monkeypatch.setenv("VOLPRED_INTERVAL_LEVEL", "0.79")  # a different candidate model
    second = run_flow()
    assert second.is_completed(), second.message
    assert second.result()["saved"] == {
        "version": served,
        "promoted": False,
        "reason": "declined",
    }
    assert (artifacts / "latest").read_text().strip() == served


def _approve_when_paused(decision: dict, deadline_s: float = 240) -> threading.Thread:
    """Play the analyst: wait for a paused run, then answer its promotion form."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    def answer():
        paused = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
        )
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(flow_run_filter=paused)
            if runs:
                resume_flow_run(runs[0].id, run_input=decision)
                return
            time.sleep(0.5)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def test_required_approval_promotes_when_the_analyst_says_so(
    prefect_server, tmp_path, run_flow, monkeypatch
):
    first = run_flow()
    served = first.result()["saved"]["version"]
    monkeypatch.setenv("VOLPRED_INTERVAL_LEVEL", "0.79")  # a different candidate model
    analyst = _approve_when_paused({"promote": True, "comment": "reviewed the residuals"})
    second = run_flow(require_approval=True)
    analyst.join(5)
    assert second.is_completed(), second.message
    saved = second.result()["saved"]
    assert saved["promoted"] is True and saved["version"] != served
    assert (tmp_path / "artifacts" / "latest").read_text().strip() == saved["version"]
