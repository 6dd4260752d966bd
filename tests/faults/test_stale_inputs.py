"""A VIX feed that stops 20 trading days before the prices, end to end: the raw file is
cleaned (the VIX carried for its fill limit, then missing, never a constant), a model is
trained and served, and every reader says so in the same words: the API's fields, the
dashboard's warning and empty what-if input, the report's executive summary, the run summary.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from werkzeug.serving import make_server

from tests.support.runs import fast_settings
from volpred.config import Settings
from volpred.data.auxiliary import ingest_all
from volpred.data.clean import clean
from volpred.data.sources.sample import simulate
from volpred.flows.summary import forecast_line
from volpred.model import candidate
from volpred.model.forecaster import load_forecaster, predict, refusal
from volpred.report.staleness import stale_warning
from volpred.serving.api import create_app
from volpred.serving.dashboard.launcher import APP

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

VIX = ("vix_open", "vix_high", "vix_low", "vix_close")
STOPPED = 20


@pytest.fixture(scope="module")
def stale(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, str]:
    """A raw CSV of the sample market whose VIX stops 20 trading days before its prices,
    ingested, cleaned, trained on and served; (settings, last VIX day, last price day)."""
    root = tmp_path_factory.mktemp("stale")
    raw = simulate(date(2008, 1, 2), date(2025, 12, 31), seed=11)
    cut = raw["date"][-STOPPED - 1]
    raw = raw.with_columns(
        pl.when(pl.col("date") > cut).then(None).otherwise(pl.col(c)).alias(c) for c in VIX
    )
    path = root / "raw_vix_stops.csv"
    raw.write_csv(path)
    settings = fast_settings(root, source="csv", csv_path=path, macro_source="none")
    ingest_all(settings)
    clean(settings)
    candidate.train_candidate(settings)
    candidate.promote(settings)
    return settings, str(cut), str(raw["date"][-1])


def test_the_cleaned_vix_is_carried_for_its_limit_then_missing(stale) -> None:
    settings, cut, _ = stale
    table = pl.read_parquet(settings.cleaned_parquet_path)
    limit = settings.fill_limits["vix"]
    tail = table.tail(STOPPED)
    assert tail["vix"].is_null().to_list() == [False] * limit + [True] * (STOPPED - limit)
    assert tail["vrp"].tail(STOPPED - limit).null_count() == STOPPED - limit
    assert tail["vix_age"].to_list() == list(range(1, STOPPED + 1))
    assert str(table.filter(pl.col("vix_age") == 0)["date"][-1]) == cut


def test_the_api_says_which_input_was_stale_and_which_model_answered(stale, fault_report) -> None:
    settings, cut, last = stale
    client = create_app(settings).test_client()
    answer = client.get("/predict?date=latest")
    assert answer.status_code == 200
    (record,) = answer.get_json()["predictions"]
    assert record["as_of"] == last  # `latest` is the last SPX close, not the last VIX
    assert record["stale_inputs"] == ["vix"]
    assert record["inputs_as_of"]["vix"] == cut
    assert record["inputs_as_of"]["spx"] == last
    assert record["fallback"] is not None and record["fallback"] == record["vol_model"]
    assert np.isfinite(record["vol"]) and record["vol_lo"] < record["vol"] < record["vol_hi"]
    # A day within the fill limit is not stale.
    fresh = client.post("/predict", json={"date": cut}).get_json()["predictions"][0]
    assert fresh["stale_inputs"] == [] and fresh["fallback"] is None
    # A what-if that gives the VIX on the stale day is answered from it.
    given = client.post("/predict", json={"date": last, "features": {"vix": 30.0}})
    assert given.status_code == 200 and given.get_json()["predictions"][0]["as_of"] == last
    # Changing another input on that day keeps the VIX missing: no value is made up for it.
    other = client.post("/predict", json={"date": last, "features": {"rv21": 0.2}})
    assert other.get_json()["predictions"][0]["stale_inputs"] == ["vix"]
    # The OpenAPI description documents the fields a client tests.
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]["Forecast"]
    assert {"inputs_as_of", "stale_inputs", "fallback", "return_fallback"} <= set(
        schema["properties"]
    )
    fault_report(
        "VIX stops 20 trading days before the prices",
        "/predict latest: 200, stale_inputs [vix], its last date, a fallback named",
        f"stale_inputs {record['stale_inputs']}, vix as of {record['inputs_as_of']['vix']}, "
        f"fallback {record['fallback']!r}",
    )


def test_a_refusal_names_the_input_its_last_date_and_its_limit(stale) -> None:
    settings, cut, last = stale
    f = load_forecaster(settings)
    row = len(f.dates) - 1
    message = str(refusal(f.dates, f.inputs, row, ["vix"], "volatility"))
    assert message == (
        f"no volatility forecast for {last}: the VIX was last observed on {cut} (20 trading "
        "days earlier, beyond its fill limit of 5) and no fallback model works without it"
    )


def test_the_model_card_and_the_run_summary_carry_the_same_warning(stale) -> None:
    settings, cut, last = stale
    card = candidate.served_card(settings)
    latest = card.latest_forecast
    assert latest is not None and latest.date == last
    assert latest.stale_inputs == ["vix"] and latest.inputs_as_of["vix"] == cut
    (record,) = predict(load_forecaster(settings), dates=["latest"])
    assert latest.fallback == record["fallback"]
    warning = stale_warning(latest.model_dump())
    assert warning == stale_warning(record)
    assert warning is not None and f"the VIX was last observed on {cut}" in warning
    assert warning in forecast_line(card)


@pytest.fixture
def live_stale_api(stale, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real API over the stale model in a thread, and the dashboard pointed at it."""
    settings = stale[0]
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    import os

    for key in [k for k in os.environ if k.startswith("VOLPRED_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("VOLPRED_DASHBOARD_API_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        yield url
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        server.shutdown()
        server.server_close()


def test_the_dashboard_warns_and_leaves_the_stale_input_empty(
    stale, live_stale_api, fault_report
) -> None:
    settings, cut, last = stale
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    warnings = [str(w.value) for w in at.warning]
    expected = f"Stale input on {last}: the VIX was last observed on {cut}"
    assert any(w.startswith(expected) for w in warnings), warnings
    assert any("fallback model" in w for w in warnings)
    # The what-if form on that day: the VIX is empty (not a made-up "day's value"), the other
    # inputs are the day's, and the what-if answer is that day's forecast.
    assert at.date_input(key="wi_date").value == date.fromisoformat(last)
    assert at.number_input(key="wi_vix").value is None
    assert at.number_input(key="wi_rv21").value is not None
    # Typing a VIX gives it: the what-if forecast is answered from it.
    at.number_input(key="wi_vix").set_value(30.0).run()
    assert not at.exception
    assert "What-if volatility (annualised, 21 days)" in {m.label for m in at.metric}
    fault_report(
        "VIX stops 20 trading days before the prices",
        "Forecast page warns with the VIX's last date; the what-if VIX is empty",
        "warned; the what-if VIX empty",
    )


def test_the_report_executive_summary_warns(stale, tmp_path: Path, fault_report) -> None:
    from volpred.report import generate_report

    settings, cut, last = stale
    settings = settings.with_overrides(report_dir=tmp_path / "reports")
    result = generate_report(settings, run_id="stale-vix")
    text = subprocess.run(
        ["pdftotext", str(result.pdf_path), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    summary = flat[flat.index("Executive summary") : flat.index("How the model did")]
    assert f"Stale input on {last}: the VIX was last observed on {cut}" in summary
    assert "fallback model" in summary
    fault_report(
        "VIX stops 20 trading days before the prices",
        "the report's executive summary warns with the VIX's last date",
        "warned in the PDF",
    )
