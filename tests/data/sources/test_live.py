"""The live source: Stooq SPX joined with FRED VIX and rates, and the fallback to FRED's SP500."""

from __future__ import annotations

import logging
from datetime import date

import polars as pl
import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from volpred.config import Settings
from volpred.data import schema
from volpred.data.sources import fred, live
from volpred.data.sources.base import SourceError

STOOQ_URL = "https://stooq.com/q/d/l/"
KEY = "live-Key-0042-secret"
FRED_DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"]
# Made-up values. FRED has no VIX yet for 03-08, which Stooq already has.
FRED_VALUES: dict[str, list[str]] = {
    "SP500": ["4990.5", "4980.25", "5010.0", "5030.75"],
    "VIXCLS": ["14.5", "15.25", ".", "14.0"],
    "DGS10": ["4.31", "4.29", "4.25", "4.20"],
    "DGS2": ["4.61", "4.60", "4.57", "4.55"],
    "T10Y2Y": ["-0.30", "-0.31", "-0.32", "-0.35"],
}
STOOQ_BODY = (
    "Date,Open,High,Low,Close,Volume\r\n"
    "2024-03-04,5000.0,5010.5,4985.0,4991.0,2100000000\r\n"
    "2024-03-05,4991.0,4999.0,4970.5,4980.0,2250000000\r\n"
    "2024-03-06,4982.0,5012.0,4980.0,5009.5,2050000000\r\n"
    "2024-03-07,5010.0,5035.0,5005.0,5031.0,1990000000\r\n"
    "2024-03-08,5031.0,5040.0,5011.0,5020.5,2400000000\r\n"
)


def serve_fred(*series_ids: str) -> None:
    for series_id in series_ids:
        rows = "".join(f"{d},{v}\n" for d, v in zip(FRED_DAYS, FRED_VALUES[series_id], strict=True))
        responses.get(
            fred.FRED_CSV_URL,
            body=f"observation_date,{series_id}\n{rows}",
            match=[query_param_matcher({"id": series_id})],
        )


@pytest.fixture
def net(settings: Settings) -> Settings:
    return settings.with_overrides(
        start=date(2024, 3, 1),
        end=date(2024, 3, 8),
        http_retries=1,
        http_backoff=0.0,
        stooq_api_key=KEY,
    )


def stooq_calls() -> list[responses.Call]:
    return [c for c in responses.calls if c.request.url.startswith(STOOQ_URL)]


@responses.activate
def test_stooq_ohlcv_joined_with_fred_vix_and_rates(
    net: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="volpred.data.sources.live")
    serve_fred(*fred.VIX_RATE_SERIES)
    responses.get(STOOQ_URL, body=STOOQ_BODY)
    result = live.load(net)
    frame = result.frame
    assert frame.schema == pl.Schema(schema.RAW_SCHEMA)
    assert frame["date"].to_list() == [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]  # Stooq days
    row = frame.row(1, named=True)
    assert (row["spx_open"], row["spx_close"], row["spx_volume"]) == (4991.0, 4980.0, 2.25e9)
    assert (row["vix_close"], row["dgs10"], row["dgs2"], row["t10y2y"]) == (15.25, 4.29, 4.6, -0.31)
    assert frame["vix_close"].to_list()[2:] == [None, 14.0, None]  # "." and not yet published
    assert not [c for c in responses.calls if c.request.params.get("id") == "SP500"]
    assert result.source == "live"
    assert result.notes[0] == live.NOTE_STOOQ
    assert "apikey=***" in result.uris[0] and KEY not in " ".join(result.uris)
    assert [r.levelno for r in caplog.records if "Stooq" in r.getMessage()] == [logging.INFO]


@responses.activate
def test_missing_key_falls_back_to_fred_sp500(
    net: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="volpred.data.sources.live")
    serve_fred(*fred.VIX_RATE_SERIES, "SP500")
    settings = net.model_copy(update={"stooq_api_key": None})
    result = live.load(settings)
    assert not stooq_calls()
    frame = result.frame
    assert frame["date"].to_list() == [date.fromisoformat(d) for d in FRED_DAYS]  # SP500 days
    assert frame["spx_close"].to_list() == [4990.5, 4980.25, 5010.0, 5030.75]
    assert frame["spx_open"].null_count() == frame.height
    assert frame["vix_close"].to_list() == [14.5, 15.25, None, 14.0]
    note = result.notes[0]
    assert "FRED SP500" in note and "VOLPRED_STOOQ_API_KEY" in note
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "not usable" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("stooq_answer", "attempts"),
    [
        ({"body": "<html><body>Please request an apikey to download data</body></html>"}, 1),
        ({"status": 503}, 2),
        ({"body": requests.exceptions.ReadTimeout("Read timed out.")}, 2),
    ],
    ids=["html", "http-503", "timeout"],
)
@responses.activate
def test_stooq_failure_falls_back_with_a_note(
    net: Settings, stooq_answer: dict, attempts: int
) -> None:
    serve_fred(*fred.VIX_RATE_SERIES, "SP500")
    responses.get(STOOQ_URL, **stooq_answer)
    result = live.load(net)
    assert len(stooq_calls()) == attempts  # http_retries=1: a retryable failure is tried twice
    assert result.frame["spx_close"].null_count() == 0
    assert "Stooq was not usable" in result.notes[0]
    assert KEY not in " ".join(result.notes + result.uris)


@responses.activate
def test_fred_failure_is_not_hidden(net: Settings) -> None:
    serve_fred("VIXCLS", "DGS10", "DGS2")
    responses.get(fred.FRED_CSV_URL, status=500, match=[query_param_matcher({"id": "T10Y2Y"})])
    responses.get(STOOQ_URL, body=STOOQ_BODY)
    with pytest.raises(SourceError) as caught:
        live.load(net)
    assert caught.value.source == "fred" and "T10Y2Y" in caught.value.reason
    assert not stooq_calls()  # FRED goes first: no Stooq request is spent on a doomed run


@responses.activate
def test_since_reaches_both_sources(net: Settings) -> None:
    serve_fred(*fred.VIX_RATE_SERIES)
    responses.get(STOOQ_URL, body=STOOQ_BODY)
    frame = live.load(net, since=date(2024, 3, 6)).frame
    assert stooq_calls()[0].request.params["d1"] == "20240306"
    assert frame["date"].min() == date(2024, 3, 6)
    assert frame["dgs10"].to_list()[:2] == [4.25, 4.20]
