"""The API client against the real API, a slow one and a closed port: answers come back typed,
failures as one plain sentence."""

from __future__ import annotations

import time

import polars as pl
import pytest

from volpred.config import Settings
from volpred.serving.dashboard.client import ApiClient, ApiConfig, ApiRequestError, ApiUnavailable


def test_predict_latest_matches_the_contract(live_api: str) -> None:
    answer = ApiClient(ApiConfig(live_api)).predict("latest")
    assert {"ret", "ret_lo", "ret_hi", "vol", "vol_lo", "vol_hi", "as_of"} <= set(answer)
    assert answer["vol_lo"] <= answer["vol"] <= answer["vol_hi"]
    assert answer["horizon_days"] == 21


def test_what_if_overrides_that_days_inputs(live_api: str) -> None:
    client = ApiClient(ApiConfig(live_api))
    day = client.predict("latest")
    calm = client.predict(day["as_of"], {"vix": 12.0})
    panic = client.predict(day["as_of"], {"vix": 60.0})
    assert calm["vol"] < panic["vol"]
    assert calm["as_of"] == day["as_of"]


def test_tables_come_back_as_frames_with_dates(live_api: str) -> None:
    client = ApiClient(ApiConfig(live_api))
    history = client.history(start="2020-01-01", end="2020-12-31")
    assert history.schema["date"] == pl.Date
    assert {"vix", "rv21", "parkinson21", "vrp", "term_spread"} <= set(history.columns)
    assert history["date"].min().year == 2020 and history["date"].max().year == 2020
    oos = client.oos()
    assert {"vol_selected", "vol_lo", "vol_hi", "target_vol", "ret_selected"} <= set(oos.columns)
    assert oos.height > 250


def test_a_rejected_request_names_the_reason_and_field(live_api: str) -> None:
    with pytest.raises(ApiRequestError) as caught:
        ApiClient(ApiConfig(live_api)).predict("1900-01-01")
    assert not isinstance(caught.value, ApiUnavailable)
    assert caught.value.status is not None and 400 <= caught.value.status < 500
    assert "1900-01-01" in str(caught.value)


def test_the_api_key_is_sent_when_set(keyed_api: str) -> None:
    keyed = ApiClient(ApiConfig(keyed_api, api_key="s3cret"))
    assert keyed.history(start="2024-01-01").height > 0
    assert keyed.model()["version"]
    with pytest.raises(ApiRequestError, match="401") as caught:
        ApiClient(ApiConfig(keyed_api)).history(start="2024-01-01")
    assert caught.value.status == 401
    assert "VOLPRED_API_KEY" in str(caught.value)


def test_config_from_settings_carries_url_key_and_timeout() -> None:
    cfg = ApiConfig.from_settings(
        Settings(api_port=5123, api_key="k", dashboard_api_timeout=2.5)  # type: ignore[arg-type]
    )
    assert cfg == ApiConfig("http://127.0.0.1:5123", "k", 2.5)


def test_down_api_is_said_plainly(closed_url: str) -> None:
    with pytest.raises(ApiUnavailable) as caught:
        ApiClient(ApiConfig(closed_url)).ready()
    assert str(caught.value) == f"The API at {closed_url} is not answering (connection refused)"


def test_slow_api_is_said_plainly_and_not_waited_for_twice(slow_api: str) -> None:
    client = ApiClient(ApiConfig(slow_api, timeout=0.3), quiet_after_failure=5)
    started = time.perf_counter()
    with pytest.raises(ApiUnavailable, match=r"answered slowly \(over 0.3 s\)"):
        client.ready()
    with pytest.raises(ApiUnavailable, match="answered slowly"):
        client.history()  # fails at once: the API just did not answer
    assert time.perf_counter() - started < 1.5
