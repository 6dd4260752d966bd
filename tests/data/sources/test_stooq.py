"""Stooq's CSV reader: request, strict parsing, failures, the API key kept secret (no network)."""

from __future__ import annotations

import logging
import traceback
from datetime import date, timedelta

import polars as pl
import pytest
import requests
import responses
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from pydantic import SecretStr

from volpred.config import Settings
from volpred.data import schema
from volpred.data.sources import stooq
from volpred.data.sources.base import SourceError

URL = "https://stooq.com/q/d/l/"
KEY = "stq-7f3a9c-Very-Secret"
HEADER = "Date,Open,High,Low,Close,Volume"
# Made-up values, in Stooq's layout (CRLF line ends, ascending dates).
ROWS = [
    "2024-03-04,5100.5,5120.25,5090.0,5110.75,2150000000",
    "2024-03-05,5110.0,5115.5,5060.25,5075.0,2410000000",
    "2024-03-06,5080.0,5125.0,5079.5,5120.5,2230000000",
    "2024-03-07,5125.0,5160.0,5120.0,5155.25,2300500000",
    "2024-03-08,5160.0,5170.5,5130.0,5140.0,2600000000",
]


def body(rows: list[str] = ROWS, header: str = HEADER, eol: str = "\r\n") -> str:
    return eol.join([header, *rows]) + eol


@pytest.fixture
def net(settings: Settings) -> Settings:
    return settings.with_overrides(
        start=date(2024, 3, 1),
        end=date(2024, 3, 8),
        http_retries=2,
        http_backoff=0.0,
        stooq_api_key=KEY,
    )


def load_error(net: Settings) -> SourceError:
    with pytest.raises(SourceError) as caught:
        stooq.load(net)
    err = caught.value
    assert KEY not in str(err)
    assert KEY not in "".join(traceback.format_exception(err))
    return err


@responses.activate
def test_load_maps_ohlcv_to_canonical_columns(net: Settings) -> None:
    responses.get(URL, body=body(list(reversed(ROWS))))
    result = stooq.load(net)
    frame = result.frame
    assert frame.schema == pl.Schema(schema.RAW_SCHEMA)
    assert frame["date"].to_list() == [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]
    first = frame.row(0, named=True)
    assert (first["spx_open"], first["spx_high"], first["spx_low"]) == (5100.5, 5120.25, 5090.0)
    assert (first["spx_close"], first["spx_volume"]) == (5110.75, 2.15e9)
    assert frame["vix_close"].null_count() == frame.height
    assert frame["dgs10"].null_count() == frame.height
    assert result.source == "stooq"
    assert result.uris == [f"{URL}?s=%5Espx&i=d&d1=20240301&d2=20240308&apikey=***"]


@responses.activate
def test_since_and_key_are_sent_as_parameters(net: Settings) -> None:
    responses.get(
        URL,
        body=body(ROWS[2:]),
        match=[
            responses.matchers.query_param_matcher(
                {"s": "^spx", "i": "d", "d1": "20240306", "d2": "20240308", "apikey": KEY}
            )
        ],
    )
    frame = stooq.load(net, since=date(2024, 3, 6)).frame
    assert frame["date"].min() == date(2024, 3, 6)


@responses.activate
def test_index_without_volume_column(net: Settings) -> None:
    rows = [",".join(r.split(",")[:5]) for r in ROWS]
    responses.get(URL, body=body(rows, header="Date,Open,High,Low,Close", eol="\n"))
    frame = stooq.load(net).frame
    assert frame.height == 5 and frame["spx_volume"].null_count() == 5


@pytest.mark.parametrize("key", [None, "   "], ids=["unset", "blank"])
@responses.activate
def test_missing_key_fails_without_a_request(net: Settings, key: str | None) -> None:
    net = net.model_copy(update={"stooq_api_key": None if key is None else SecretStr(key)})
    with pytest.raises(SourceError) as caught:
        stooq.load(net)
    assert "no Stooq API key" in caught.value.reason
    assert stooq.API_KEY_ENV == "VOLPRED_STOOQ_API_KEY"
    assert "VOLPRED_STOOQ_API_KEY" in caught.value.reason
    assert "apikey" not in caught.value.uri
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "<!DOCTYPE html><html><head><title>Stooq</title><script>var t=1;</script></head>"
            f"<body>Get your apikey here; key {KEY} is not valid</body></html>",
            "HTML page instead of CSV",
        ),
        ("No data", "text message instead of CSV: 'No data'"),
        ("Exceeded the daily hits limit", "text message instead of CSV"),
        ("Datum,Hoch,Tief,Schluss\r\n2024-03-04,2,3,4\r\n", "line 1: unexpected CSV header"),
        ("   ", "empty answer"),
        (body([]), "no rows between 2024-03-01 and 2024-03-08"),
        (body([*ROWS[:4], "2024-03-08,5160.0,51"]), "line 6: expected 6 fields, got 3"),
        (body([ROWS[0], "2024-03-05,5110.0,5115.5,abc,5075.0,1"]), "line 3, column Low: cannot"),
        (body([ROWS[0], "2024-03-05,5110.0,nan,5060.25,5075.0,1"]), "line 3, column High"),
        (body([ROWS[0], "05/03/2024,5110.0,5115.5,5060.25,5075.0,1"]), "line 3, column Date"),
        (body([ROWS[0], "2024-03-05,5110.0,5115.5,5060.25,,1"]), "line 3, column Close: empty"),
        (body([ROWS[0], "", ROWS[1]]), "line 3: expected 6 fields, got 1"),
        (body([ROWS[0], ROWS[0]]), "duplicated date 2024-03-04"),
    ],
    ids=[
        "html", "no-data", "limit", "wrong-header", "empty", "header-only", "truncated",
        "bad-number", "nan", "bad-date", "empty-close", "blank-line", "duplicate",
    ],
)  # fmt: skip
@responses.activate
def test_bad_answers_raise_and_say_what_came_back(
    net: Settings, answer: str, expected: str
) -> None:
    responses.get(URL, body=answer)
    err = load_error(net)
    assert expected in err.reason
    assert err.source == "stooq" and "apikey=***" in err.uri


@responses.activate
def test_truncated_last_line_says_so(net: Settings) -> None:
    responses.get(URL, body=HEADER + "\r\n" + ROWS[0] + "\r\n2024-03-05,5110.0")
    assert "truncated answer?" in load_error(net).reason


@responses.activate
def test_stale_answer_is_an_error(net: Settings) -> None:
    responses.get(URL, body=body(ROWS[:1]))
    err = load_error(net.with_overrides(end=date(2024, 3, 4) + timedelta(days=30)))
    assert "stops at 2024-03-04" in err.reason


@responses.activate
def test_http_500_retried_and_key_kept_secret(net: Settings) -> None:
    responses.get(URL, status=500, body=f"internal error for apikey={KEY}")
    err = load_error(net)
    assert len(responses.calls) == net.http_retries + 1
    assert "HTTP 500" in err.reason


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (requests.exceptions.ConnectTimeout(f"{URL}?apikey={KEY} timed out"), "timeout"),
        (requests.exceptions.ReadTimeout(f"{URL}?apikey={KEY} Read timed out."), "timeout"),
        (
            requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
            "connection refused",
        ),
        (requests.exceptions.ConnectionError("Failed to resolve 'stooq.com'"), "DNS failure"),
    ],
    ids=["connect-timeout", "read-timeout", "refused", "dns"],
)
@responses.activate
def test_network_failures(net: Settings, error: Exception, expected: str) -> None:
    responses.get(URL, body=error)
    err = load_error(net)
    assert expected in err.reason
    assert len(responses.calls) == net.http_retries + 1


@responses.activate
def test_key_never_logged(net: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(URL, body=body())
    stooq.load(net)
    responses.replace(responses.GET, URL, status=503)
    with pytest.raises(SourceError):
        stooq.load(net)
    assert "apikey=***" in caplog.text and KEY not in caplog.text


prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(prices, prices, prices, prices, prices), min_size=1, max_size=20))
def test_parse_round_trips_any_values(values: list[tuple[float, ...]]) -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(len(values))]
    rows = [f"{d},{','.join(repr(v) for v in vs)}" for d, vs in zip(days, values, strict=True)]
    frame = stooq.parse_csv(body(rows), "test://stooq")
    assert frame["date"].to_list() == days
    columns = ["spx_open", "spx_high", "spx_low", "spx_close", "spx_volume"]
    assert [tuple(r) for r in frame.select(columns).rows()] == values
