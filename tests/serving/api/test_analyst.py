"""/report, /report/pdf and /alerts: the review status, the PDF of the current copy, the
recent alerts and the thresholds in force, from the files the report and the runs leave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from volpred.config import Settings
from volpred.monitoring import records
from volpred.report.review import METADATA_NAME, REVIEWED_PDF
from volpred.serving.api import create_app


@pytest.fixture
def configured(served: Settings, tmp_path: Path) -> Settings:
    return served.with_overrides(
        report_dir=tmp_path / "reports", alerts_dir=tmp_path / "alerts", alert_vol_above=0.25
    )


def write_report(settings: Settings, status: str) -> None:
    folder = settings.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "analysis_report.pdf").write_bytes(b"%PDF-draft")
    meta = {"status": status, "run_id": "r1", "model_version": "v1", "review": None}
    if status == "reviewed":
        (folder / REVIEWED_PDF).write_bytes(b"%PDF-reviewed")
        meta["review"] = {"by": "A. Analyst", "at": "2026-01-05T10:00:00+00:00"}
    (folder / METADATA_NAME).write_text(json.dumps(meta))


def test_no_report_yet_is_a_404_with_the_error_body(configured):
    answer = create_app(configured).test_client().get("/report")
    assert answer.status_code == 404 and "volpred report" in answer.get_json()["detail"]


def test_a_draft_then_the_reviewed_copy(configured):
    client = create_app(configured).test_client()
    write_report(configured, "draft")
    status = client.get("/report").get_json()
    assert status["status"] == "draft" and status["review"] is None
    assert set(status["files"]) == {"draft"} and status["pdf_url"] == "/report/pdf"
    pdf = client.get("/report/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data == b"%PDF-draft"
    assert client.get("/report/pdf?which=reviewed").status_code == 404

    write_report(configured, "reviewed")
    status = client.get("/report").get_json()
    assert status["status"] == "reviewed" and status["review"]["by"] == "A. Analyst"
    assert client.get("/report/pdf").data == b"%PDF-reviewed"
    assert client.get("/report/pdf?which=draft").data == b"%PDF-draft"
    assert client.get("/report/pdf?which=other").status_code == 422


def test_alerts_newest_first_with_the_thresholds_in_force(configured):
    records.append_facts(configured, {"run_id": "r1", "vol": 0.31})
    records.append_alerts(configured, [{"kind": "forecast-vol-high", "run_id": "r1"}])
    records.append_alerts(configured, [{"kind": "run-failed", "run_id": "r2"}])
    client = create_app(configured).test_client()
    body = client.get("/alerts?limit=5").get_json()
    assert [a["kind"] for a in body["alerts"]] == ["run-failed", "forecast-vol-high"]
    assert body["last_run"]["vol"] == 0.31 and body["thresholds"]["vol_above"] == 0.25
    assert client.get("/alerts?limit=0").status_code == 422
    assert client.get("/alerts?limit=1").get_json()["alerts"][0]["kind"] == "run-failed"


def test_the_new_endpoints_need_the_key_and_are_described(configured):
    client = create_app(configured.with_overrides(api_key="k")).test_client()
    assert client.get("/alerts").status_code == 401
    assert client.get("/alerts", headers={"X-API-Key": "k"}).status_code == 200
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/report", "/report/pdf", "/alerts"} <= set(paths)
