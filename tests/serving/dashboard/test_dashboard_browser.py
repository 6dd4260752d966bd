"""The dashboard as an analyst sees it: `start_dashboard` in the background against the API
under gunicorn (`start_api`), Debian's Chromium driven by Playwright. The forecast numbers on
screen must be the API's `/predict?date=latest` at the shown precision."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.support.runs import free_port
from volpred.config import Settings
from volpred.report import numbers
from volpred.runtime import processes
from volpred.runtime.processes import alive
from volpred.serving.dashboard.launcher import read_marker, start_dashboard, stop_dashboard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def wait_rendered(page, timeout_ms: float = 60_000) -> None:
    """Until the forecast metrics and the chart are drawn and Streamlit is no longer running
    the script (an empty shell or a half-run page fails here, not in the asserts)."""
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def test_browser_shows_the_apis_forecast(served: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from volpred.serving.api.launcher import start_api, stop_api

    settings = served.model_copy(
        update={
            "run_dir": tmp_path / "run",
            "api_port": free_port(),
            "dashboard_port": free_port(),
            "api_workers": 1,
        }
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    start_api(settings)
    try:
        service = start_dashboard(settings)
        marker = read_marker(settings)
        expected = requests.get(
            f"{settings.api_url}/predict", params={"date": "latest"}, timeout=10
        )
        latest = expected.json()["predictions"][0]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.goto(settings.dashboard_url)
                wait_rendered(page)
                values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
                text = page.locator("section.main, [data-testid='stMain']").first.inner_text()
                page.screenshot(path=str(tmp_path / "forecast.png"), full_page=True)
            finally:
                browser.close()
        assert start_dashboard(settings).pid == service.pid  # a healthy one is reused
        # What `make stop` does: the dashboard's clean exit removes its own marker.
        stopped = processes.stop(settings.run_dir, "dashboard")
    finally:
        stop_dashboard(settings)
        stop_api(settings)

    assert values[:2] == [numbers.vol(latest["vol"]), numbers.ret(latest["ret"])]
    assert f"80% band: {numbers.vol_band(latest['vol_lo'], latest['vol_hi'])}" in text
    assert f"80% band: {numbers.ret_band(latest['ret_lo'], latest['ret_hi'])}" in text
    assert f"As of {latest['as_of']}" in text
    assert (tmp_path / "forecast.png").stat().st_size > 20_000
    assert marker["url"] == settings.dashboard_url
    assert marker["pid"] == str(service.pid)
    assert marker["api_url"] == settings.api_url
    assert marker["started_at"] == service.started_at
    assert stopped and not alive(service.pid)
    assert not (settings.run_dir / "streamlit_dashboard_running.txt").exists()
    log = (settings.run_dir / "dashboard.log").read_text()
    assert "event=page_view page=forecast" in log
    assert "event=prediction_asked reason=latest" in log
    assert f"event=dashboard_process_end pid={service.pid}" in log
