"""The Report and alerts page through Streamlit's AppTest against the real API: the latest
report's status (draft, then reviewed by whom) with its PDF, the recent alerts and the
thresholds in force."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from werkzeug.serving import make_server

from volpred.config import Settings
from volpred.monitoring import records
from volpred.report.review import METADATA_NAME, REVIEWED_PDF
from volpred.serving.dashboard.launcher import APP
from volpred.serving.dashboard.pages.review import status_line


@pytest.fixture
def folders(served: Settings, tmp_path: Path) -> Settings:
    return served.with_overrides(report_dir=tmp_path / "reports", alerts_dir=tmp_path / "alerts")


@pytest.fixture
def analyst_api(folders: Settings, point_at) -> Iterator[str]:
    from volpred.serving.api import create_app

    server = make_server("127.0.0.1", 0, create_app(folders), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    point_at(url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def write_report(settings: Settings, meta: dict) -> None:
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    (settings.report_dir / "analysis_report.pdf").write_bytes(b"%PDF-draft")
    if meta["status"] == "reviewed":
        (settings.report_dir / REVIEWED_PDF).write_bytes(b"%PDF-reviewed")
    (settings.report_dir / METADATA_NAME).write_text(json.dumps(meta))


def page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    return at.switch_page("pages/review.py").run()


META = {"run_id": "r9", "model_version": "v9", "generated_at": "2026-01-05T17:40:00+00:00"}


def test_no_report_and_no_alerts_yet(analyst_api) -> None:
    at = page()
    assert not at.exception
    assert at.title[0].value == "Report and alerts"
    assert "No report has been written yet" in at.info[0].value
    assert "No alert raised." in [s.value for s in at.success]
    thresholds = at.dataframe[-1].value
    assert list(thresholds["threshold"])[0] == "30.0%"
    assert "VOLPRED_ALERT_VOL_ABOVE" in list(thresholds["setting"])


def test_a_draft_then_a_reviewed_report_and_the_alerts(analyst_api, folders) -> None:
    write_report(folders, META | {"status": "draft", "review": None})
    records.append_facts(
        folders,
        {"at": "2026-01-05T17:40:00+00:00", "vol": 0.32, "vol_lo": 0.25, "vol_hi": 0.4,
         "vix": 28.0, "vol_minus_vix": 4.0, "data_last_date": "2026-01-05",
         "data_age_days": 0, "stale_inputs": [], "model_version": "v9"},
    )  # fmt: skip
    records.append_alerts(
        folders,
        [{"kind": "forecast-vol-high", "message": "Forecast vol 32.0% is above 30.0%.",
          "run_id": "r9", "at": "2026-01-05T17:40:00+00:00"}],
    )  # fmt: skip
    at = page()
    assert not at.exception
    assert "DRAFT — not reviewed: run r9, model v9" in at.warning[0].value
    assert at.get("download_button")
    alerts = at.dataframe[0].value
    assert list(alerts["kind"]) == ["forecast-vol-high"]
    assert "forecast vol 32.0%" in " ".join(m.value for m in at.markdown)

    review = {"by": "A. Analyst", "at": "2026-01-06T09:15:00+00:00", "decision": "approved"}
    write_report(folders, META | {"status": "reviewed", "review": review})
    st.cache_data.clear()
    at = page()
    assert "Reviewed by A. Analyst on 2026-01-06 09:15 UTC" in at.success[0].value


def test_the_status_line_of_a_sent_back_report() -> None:
    line = status_line(
        META | {"status": "sent back", "review": {"by": "B", "at": "2026-01-06T09:15:00"}}
    )
    assert line.startswith("Draft, sent back by B on 2026-01-06 09:15 UTC: run r9")
