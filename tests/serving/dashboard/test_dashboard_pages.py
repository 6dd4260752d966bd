"""Every page through Streamlit's AppTest against the real API, the what-if flow, and the
pages with the API down or too slow: they say so plainly and render everything else."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from volpred.report import numbers
from volpred.serving.dashboard.client import ApiClient, ApiConfig
from volpred.serving.dashboard.launcher import APP

PAGES = ["pages/history.py", "pages/model.py", "pages/data.py"]


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def messages(at: AppTest) -> str:
    return " | ".join(str(x.value) for x in [*at.warning, *at.error])


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


@pytest.fixture
def api(live_api: str, point_at) -> ApiClient:
    point_at(live_api)
    return ApiClient(ApiConfig(live_api))


def test_forecast_page_shows_the_apis_latest_forecast(api: ApiClient) -> None:
    at = app().run()
    assert not at.exception
    latest = api.predict("latest")
    shown = metrics(at)
    assert shown["Forecast volatility (annualised, 21 days)"] == numbers.vol(latest["vol"])
    assert shown["Forecast return (21-day log return)"] == numbers.ret(latest["ret"])
    captions = " ".join(c.value for c in at.caption)
    assert numbers.vol_band(latest["vol_lo"], latest["vol_hi"]) in captions
    assert numbers.ret_band(latest["ret_lo"], latest["ret_hi"]) in captions
    assert latest["as_of"] in at.markdown[0].value
    assert charts(at) == 1  # the VIX against forecast vol
    assert not messages(at)
    sidebar = " ".join(str(x.value) for x in at.sidebar.success)
    assert latest["model_version"] in sidebar


def test_what_if_asks_the_api_and_shows_its_answer(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="volpred.serving.dashboard")
    at = app().run()
    day = at.date_input(key="wi_date").value
    assert isinstance(day, date)
    at.number_input(key="wi_vix").set_value(45.0).run()
    assert not at.exception
    expected = api.predict(day.isoformat(), {"vix": 45.0})
    shown = metrics(at)
    assert shown["What-if volatility (annualised, 21 days)"] == numbers.vol(expected["vol"])
    assert shown["What-if return (21-day log return)"] == numbers.ret(expected["ret"])
    base = api.predict(day.isoformat())
    assert expected["vol"] > base["vol"]  # a VIX of 45 is above any calm day's
    lines = caplog.text
    assert "event=input_changed input=VIX value=45.0" in lines
    assert "event=prediction_asked reason=what_if" in lines and "features=vix=45" in lines

    # Another day: the inputs take that day's values, the answer is that day's forecast.
    at.date_input(key="wi_date").set_value(date(2020, 3, 16)).run()
    assert not at.exception
    row = api.history(start="2020-03-01", end="2020-03-16").tail(1).row(0, named=True)
    assert at.number_input(key="wi_vix").value == pytest.approx(row["vix"], abs=0.005)
    assert at.number_input(key="wi_rv21").value == pytest.approx(100 * row["rv21"], abs=0.005)
    that_day = api.predict("2020-03-16")
    assert metrics(at)["What-if volatility (annualised, 21 days)"] == numbers.vol(that_day["vol"])
    assert "event=input_changed input=date value=2020-03-16" in caplog.text

    # Move an input, look at another page and come back: the what-if is as it was left.
    at.number_input(key="wi_rv21").set_value(80.0).run()
    moved = metrics(at)["What-if volatility (annualised, 21 days)"]
    assert moved != numbers.vol(that_day["vol"])
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/forecast.py").run()
    assert at.date_input(key="wi_date").value == date(2020, 3, 16)
    assert at.number_input(key="wi_rv21").value == 80.0
    assert metrics(at)["What-if volatility (annualised, 21 days)"] == moved

    # Reset: the inputs and the answer are that day's again.
    at.button(key="wi_reset").click().run()
    assert not at.exception
    assert at.number_input(key="wi_rv21").value == pytest.approx(100 * row["rv21"], abs=0.005)
    assert metrics(at)["What-if volatility (annualised, 21 days)"] == numbers.vol(that_day["vol"])


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_from_the_api(api: ApiClient, page: str) -> None:
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert not messages(at)
    if page.endswith("history.py"):
        assert at.title[0].value == "Market history"
        assert charts(at) == 4  # history, realised vol, VRP, term spread
        assert "VIX closed above 30" in at.caption[-1].value
        at.number_input(key="hist_regime").set_value(20.0).run()
        assert "VIX closed above 20" in at.caption[-1].value
        at.switch_page("pages/data.py").run()
        at.switch_page("pages/history.py").run()
        assert "VIX closed above 20" in at.caption[-1].value  # kept across pages
        assert not messages(at)
    elif page.endswith("model.py"):
        assert at.title[0].value == "Model review"
        assert charts(at) == 7  # oos, by year, residuals, pred vs real, acf, 2 coverage
        card = api.model()
        assert card["version"] in at.markdown[0].value
        assert len(at.dataframe) >= 3  # vol and return summaries, the evidence table
        evidence = next(d.value for d in at.dataframe if "chosen_share" in d.value.columns)
        assert list(evidence["group"]) == list(card["metrics"]["evidence"]["groups"])
        at.selectbox(key="model_target").set_value("ret").run()
        assert not at.exception and not messages(at)
        assert at.selectbox(key="model_metric_ret").value == "rmse"
    else:
        assert at.title[0].value == "Data"
        quality = api.data_quality()
        assert metrics(at)["Rows after cleaning"] == str(quality["cleaning_report"]["rows_out"])
        assert metrics(at)["Rows dropped by cleaning"] == str(
            quality["cleaning_report"]["rows_dropped"]
        )
        coverage = next(d.value for d in at.dataframe if "age (trading days)" in d.value.columns)
        inputs = quality["cleaning_report"]["inputs"]
        assert list(coverage["input"]) == list(inputs)
        assert {"spx", "vix", "realized", "ANFCI"} <= set(inputs)
        realized = coverage[coverage["input"] == "realized"].iloc[0]
        assert realized["last"] == inputs["realized"]["last_date"]
        assert len(at.dataframe) >= 1  # null counts


def test_api_key_is_passed_when_set(keyed_api: str, point_at) -> None:
    point_at(keyed_api, key="s3cret")
    at = app().run()
    assert not at.exception and not messages(at)
    assert "Forecast volatility (annualised, 21 days)" in metrics(at)
    at.switch_page("pages/history.py").run()
    assert not at.exception and not messages(at)
    assert charts(at) == 4


def test_api_down_is_said_plainly_and_pages_still_render(closed_url: str, point_at) -> None:
    point_at(closed_url)
    at = app().run()
    assert not at.exception
    plain = f"The API at {closed_url} is not answering (connection refused)"
    assert plain in " ".join(str(w.value) for w in at.sidebar.warning)
    assert "The latest forecast is not available: " + plain in messages(at)
    assert at.title[0].value == "Forecast: the next 21 trading days"
    assert at.number_input(key="wi_vix").value == 20.0  # the what-if form is still there
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert plain in messages(at)
        assert at.title[0].value


def test_api_slow_is_said_plainly_without_waiting_on_every_element(slow_api: str, point_at) -> None:
    point_at(slow_api, timeout=0.4)
    at = app()
    at.run(timeout=30)
    assert not at.exception
    assert f"The API at {slow_api} answered slowly (over 0.4 s)" in messages(at)
    assert at.title[0].value == "Forecast: the next 21 trading days"
