"""The review-report flow against a real Prefect server: the run pauses with its form, the
analyst's answer arrives as run input (what the UI's form sends), and the reviewed report is
written; no answer in time leaves the draft as it was."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.runs import copy_served
from volpred.config import Settings
from volpred.report import generate_report
from volpred.report.review import DRAFT_MARK, METADATA_NAME, REVIEWED_PDF

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

NOTES = "The forecast is *calm*; the synthetic VIX runs above it.\n\n1. no action\n"


def text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def answer_when_paused(run_input: dict, seen: dict, deadline_s: float = 120) -> threading.Thread:
    """Play the analyst in the UI: wait for the paused review run, read its form's
    description, then resume it with the form's values."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    def answer() -> None:
        paused = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
        )
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(flow_run_filter=paused)
                if runs:
                    keyset = runs[0].state.state_details.run_input_keyset
                    seen["description"] = client.read_flow_run_input(
                        runs[0].id, keyset["description"]
                    )
                    seen["schema"] = json.loads(
                        client.read_flow_run_input(runs[0].id, keyset["schema"])
                    )
                    resume_flow_run(runs[0].id, run_input=run_input)
                    return
            time.sleep(0.5)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def drafted(served: Settings, tmp_path: Path) -> Settings:
    settings = copy_served(served, tmp_path, report_dir=tmp_path / "reports")
    generate_report(settings, run_id="run-ui")
    return settings


def test_the_analyst_signs_off_through_the_form(prefect_server, drafted):
    from volpred.flows.review import review_report_flow

    draft = drafted.report_dir / "analysis_report.pdf"
    assert DRAFT_MARK in text(draft)
    seen: dict = {}
    analyst = answer_when_paused(
        {"reviewer": "A. Analyst", "commentary": NOTES, "decision": "approve"}, seen
    )
    state = review_report_flow(
        run_id="run-ui", report_dir=drafted.report_dir, timeout_s=120, return_state=True
    )
    analyst.join(5)
    assert state.is_completed(), state.message
    assert "run-ui" in json.loads(seen["description"])
    assert {"reviewer", "commentary", "decision"} <= set(seen["schema"]["properties"])

    result = state.result()
    assert result["status"] == "reviewed" and result["review"]["by"] == "A. Analyst"
    reviewed = text(drafted.report_dir / REVIEWED_PDF)
    assert "Analyst's commentary" in reviewed and "A. Analyst" in reviewed
    assert "synthetic VIX runs above it" in reviewed and "DRAFT" not in reviewed
    assert DRAFT_MARK in text(draft)  # the draft is kept as it was
    meta = json.loads((drafted.report_dir / METADATA_NAME).read_text())
    assert meta["status"] == "reviewed" and meta["review"]["by"] == "A. Analyst"
    assert meta["model_version"] == result["model_version"] and meta["review"]["at"]


def test_no_answer_in_time_leaves_the_draft(prefect_server, drafted):
    from volpred.flows.review import review_report_flow

    before = (drafted.report_dir / METADATA_NAME).read_bytes()
    state = review_report_flow(report_dir=drafted.report_dir, timeout_s=2, return_state=True)
    assert state.is_completed(), state.message
    assert state.result()["status"] == "draft" and "left as it was" in state.result()["message"]
    assert (drafted.report_dir / METADATA_NAME).read_bytes() == before
    assert not (drafted.report_dir / REVIEWED_PDF).exists()
