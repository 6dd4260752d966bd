"""FRED through pandas-datareader's real parsing, with `responses` answering its GETs."""

from __future__ import annotations

from datetime import date
from unittest import mock

import polars as pl
import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from volpred.config import Settings
from volpred.data import schema
from volpred.data.sources import fred, http
from volpred.data.sources.base import SourceError

DAYS = ["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
# Made-up values. SP500 misses 03-05 ("." as FRED writes it); DGS2 misses 03-07 (empty field).
SERIES: dict[str, list[str]] = {
    "SP500": ["5101.5", "5099.25", ".", "5120.0", "5150.75", "5140.5"],
    "VIXCLS": ["13.1", "13.6", "14.2", "14.0", "", "13.8"],
    "DGS10": ["4.21", "4.22", "4.18", "4.11", "4.09", "4.08"],
    "DGS2": ["4.55", "4.58", "4.56", "4.52", ".", "4.47"],
    "T10Y2Y": ["-0.34", "-0.36", "-0.38", "-0.41", "-0.40", "-0.39"],
}


def csv_body(series_id: str, days: list[str], values: list[str]) -> str:
    rows = "".join(f"{d},{v}\n" for d, v in zip(days, values, strict=True))
    return f"observation_date,{series_id}\n{rows}"


def serve(series_id: str, **kwargs: object) -> responses.BaseResponse:
    """Answer pandas-datareader's GET for one series (it sends `id` and nothing else)."""
    if "body" not in kwargs and "status" not in kwargs:
        kwargs["body"] = csv_body(series_id, DAYS, SERIES[series_id])
    return responses.get(
        fred.FRED_CSV_URL, match=[query_param_matcher({"id": series_id})], **kwargs
    )


def serve_all(**overrides: dict) -> None:
    for series_id in SERIES:
        serve(series_id, **overrides.get(series_id, {}))


@pytest.fixture
def net(settings: Settings) -> Settings:
    return settings.with_overrides(
        start=date(2024, 2, 26), end=date(2024, 3, 8), http_retries=2, http_backoff=0.0
    )


def load_error(net: Settings) -> SourceError:
    with pytest.raises(SourceError) as caught:
        fred.load(net)
    return caught.value


@responses.activate
def test_load_puts_values_in_canonical_columns(net: Settings) -> None:
    serve_all()
    result = fred.load(net)
    frame = result.frame
    assert frame.schema == pl.Schema(schema.RAW_SCHEMA)
    # Rows are the days SP500 has a value: 03-05 (".") is not an SPX trading day here.
    assert frame["date"].to_list() == [date.fromisoformat(d) for d in DAYS if d != "2024-03-05"]
    assert frame["date"].is_sorted()
    row = frame.filter(pl.col("date") == date(2024, 3, 6)).row(0, named=True)
    assert row["spx_close"] == 5120.0 and row["vix_close"] == 14.0
    assert (row["dgs10"], row["dgs2"], row["t10y2y"]) == (4.11, 4.52, -0.41)
    day7 = frame.filter(pl.col("date") == date(2024, 3, 7)).row(0, named=True)
    assert day7["vix_close"] is None and day7["dgs2"] is None  # empty field and "." -> null
    for column in ["spx_open", "spx_high", "spx_low", "spx_volume", "vix_open", "vix_high"]:
        assert frame[column].null_count() == frame.height
    assert not frame.select(pl.all().exclude("date").is_nan().any()).row(0)[0]
    assert result.source == "fred"
    assert result.uris == [fred.series_uri(s) for s in SERIES]
    assert any("closes only" in note for note in result.notes)


@responses.activate
def test_since_truncates_locally_and_reader_sends_only_the_id(net: Settings) -> None:
    serve_all()
    frame = fred.load(net, since=date(2024, 3, 6)).frame
    assert frame["date"].min() == date(2024, 3, 6)
    # pandas-datareader asks for the whole series: the only query parameter is the id.
    assert all(call.request.params == {"id": call.request.params["id"]} for call in responses.calls)


@responses.activate
def test_our_timeout_is_passed_not_the_reader_default(net: Settings) -> None:
    serve("SP500")
    fred.load_spx_close(net.with_overrides(http_timeout=3.5))
    assert responses.calls[0].request.req_kwargs["timeout"] == 3.5


@responses.activate
def test_load_rates_vix_has_no_spx(net: Settings) -> None:
    for series_id in fred.VIX_RATE_SERIES:
        serve(series_id)
    result = fred.load_rates_vix(net)
    assert len(responses.calls) == 4
    assert result.frame["date"].len() == len(DAYS)  # every day has some rate or VIX
    assert result.frame["spx_close"].null_count() == len(DAYS)
    assert result.frame["vix_close"].to_list()[:2] == [13.1, 13.6]


@responses.activate
def test_http_500_retries_are_ours_only(net: Settings) -> None:
    serve("SP500", status=500, body="Internal Server Error")
    err = load_error(net)
    # pandas-datareader's retry_count is 0, so attempts are not multiplied.
    assert len(responses.calls) == net.http_retries + 1
    assert err.uri == fred.series_uri("SP500")
    assert "SP500" in err.reason and "HTTP 500" in err.reason and "3 attempts" in err.reason


@responses.activate
def test_timeout_names_series_and_url(net: Settings) -> None:
    serve("SP500")
    serve("VIXCLS", body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=15)"))
    err = load_error(net)
    assert err.uri.endswith("?id=VIXCLS") and "series VIXCLS: timeout" in err.reason
    assert len(responses.calls) == 1 + net.http_retries + 1


@responses.activate
def test_connection_refused(net: Settings) -> None:
    serve(
        "SP500",
        body=requests.exceptions.ConnectionError(
            "Failed to establish a new connection: [Errno 111] Connection refused"
        ),
    )
    assert "connection refused" in load_error(net).reason


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "<!DOCTYPE html>\n<html><head><title>FRED error</title></head>\n"
            "<body><p>Series does not exist, sorry, please check</p></body></html>\n",
            "HTML page instead of CSV: 'FRED error Series does not exist",
        ),
        ("<html><body><p>Down for maintenance</p></body></html>", "HTML page instead of"),
        ("", "empty answer"),
        ("observation_date,SP500\n", "no observations"),
        ("observation_date,SP500\n2024-03-01,5101.5\n2024-03-0", "not a FRED CSV"),
        (
            "observation_date,SP500\n2024-03-01,5101.5\n2024-03-04,51O2.5\n",
            "non-numeric value '51O2.5'",
        ),
        ("observation_date,SP500\n2024-03-01,.\n2024-03-04,.\n", "only missing values"),
        ("observation_date,SP500\n2024-02-26,5000.5\n2024-02-27,5001.5\n", "stops at 2024-02-27"),
    ],
    ids=["html", "html-short", "empty", "header-only", "truncated", "junk", "all-missing", "stale"],
)
@responses.activate
def test_bad_answers_are_errors_never_empty_tables(net: Settings, body: str, expected: str) -> None:
    # For "stale" the end must be far enough after the last row to exceed the staleness limit.
    net = net.with_overrides(end=date(2024, 3, 20))
    serve("SP500", body=body)
    err = load_error(net)
    assert expected in err.reason and "SP500" in err.reason
    assert err.uri == "https://fred.stlouisfed.org/graph/fredgraph.csv?id=SP500"


@responses.activate
def test_start_after_end_fails_without_a_request(net: Settings) -> None:
    with pytest.raises(SourceError, match="after end"):
        fred.load(net, since=date(2024, 4, 1))
    assert len(responses.calls) == 0


@responses.activate
def test_injected_session_is_used_and_left_open(net: Settings) -> None:
    serve_all()
    session = http.make_session(net)
    with mock.patch.object(session, "close") as close:
        fred.load(net, session=session)
    close.assert_not_called()
    assert len(responses.calls) == len(SERIES)
