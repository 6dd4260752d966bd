"""Network faults during ingest, injected at the HTTP layer with `responses`.

For each source that talks to the network (FRED through pandas-datareader, Stooq through our own
reader) and each fault (connection refused, timeout, DNS failure, HTTP 500, an HTML page, a CSV
cut off mid-line, a body cut short of its Content-Length, an empty answer), `ingest()`:
- makes exactly the HTTP layer's attempts configured (`http_retries + 1` for transient failures;
  one for a 200 answer whose content is wrong: asking again at once would get the same page),
- fails with a `SourceError` whose message names the source, its URL and the cause,
- leaves the raw checkpoint (csv + meta) byte-for-byte unchanged, with no temporary files,
and the next run against a working source succeeds (incrementally, on top of that checkpoint).

One test runs the Prefect flow the same way (FRED answering 500): the flow and its ingest_data
task fail with a message naming FRED and the cause after `http.most_attempts` GETs (the task's
attempts times the HTTP layer's, no more), and the next run succeeds.
No test touches the internet: `responses` refuses any request it was not told about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from tests.support.markets import make_raw
from tests.support.prefect_runs import task_runs
from tests.support.runs import FAST_TRAINING
from volpred.config import Settings
from volpred.data.ingest import ingest
from volpred.data.rawcsv import read_raw_csv
from volpred.data.sources import fred, http
from volpred.data.sources.base import SourceError

pytestmark = pytest.mark.faults

STOOQ_KEY = "fault-suite-Key-1234"
STOOQ_URL = Settings.model_fields["stooq_url"].default
RETRIES = 2
#: The market both canned providers serve: 60 business days from 2024-01-01.
MARKET = make_raw(60, seed=8, start=date(2024, 1, 1))
#: The checkpoint before the fault holds the first 55 days; the recovery run brings the rest.
BEFORE = 55
FRED_SERIES = {**fred.SPX_SERIES, **fred.VIX_RATE_SERIES}


# -- canned answers in each provider's own format ---------------------------------------------


def fred_csv(series_id: str, frame: pl.DataFrame) -> str:
    column = FRED_SERIES[series_id]
    rows = "".join(
        f"{d},{'.' if v is None else v}\n" for d, v in frame.select("date", column).rows()
    )
    return f"observation_date,{series_id}\n{rows}"


def stooq_csv(frame: pl.DataFrame) -> str:
    columns = ["date", "spx_open", "spx_high", "spx_low", "spx_close", "spx_volume"]
    rows = [",".join(str(v) for v in row) for row in frame.select(columns).rows()]
    return "\r\n".join(["Date,Open,High,Low,Close,Volume", *rows]) + "\r\n"


def good_body(provider: str, frame: pl.DataFrame) -> str:
    return fred_csv("SP500", frame) if provider == "fred" else stooq_csv(frame)


def serve(
    mock: responses.RequestsMock,
    frame: pl.DataFrame,
    fred_fault: dict[str, Any] | None = None,
    stooq_fault: dict[str, Any] | None = None,
) -> None:
    """Answer FRED's five series and Stooq's download with `frame`; FRED's SP500 and Stooq
    answer with their fault (responses kwargs) instead when one is given."""
    for series_id in FRED_SERIES:
        answer = fred_fault if (fred_fault and series_id == "SP500") else None
        answer = answer or {"body": fred_csv(series_id, frame)}
        mock.get(fred.FRED_CSV_URL, match=[query_param_matcher({"id": series_id})], **answer)
    mock.get(STOOQ_URL, **(stooq_fault or {"body": stooq_csv(frame)}))


def attempts(mock: responses.RequestsMock, provider: str) -> int:
    marker = "id=SP500" if provider == "fred" else STOOQ_URL
    return sum(marker in call.request.url for call in mock.calls)


def truncated_mid_line(provider: str) -> str:
    """The answer as a dropped connection leaves it when the server still ends the response:
    the last line stops after 15 characters ('2024-03-22,106.')."""
    text = good_body(provider, MARKET).rstrip("\r\n")
    start_of_last = text.rindex("\n") + 1
    return text[: start_of_last + 15]


def cut_short_of_content_length(provider: str) -> dict[str, Any]:
    """A body that stops before its declared Content-Length: urllib3 raises IncompleteRead."""
    body = good_body(provider, MARKET)
    return {
        "body": body[: len(body) // 2],
        "headers": {"Content-Length": str(len(body.encode()))},
        "auto_calculate_content_length": False,
    }


HTML = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>Down for maintenance</h1><p>Please come back later.</p></body></html>"
)

#: fault id -> (responses kwargs for the faulted URL, cause the message must name, transient?)
FAULTS: dict[str, tuple[Callable[[str], dict[str, Any]], str, bool]] = {
    "connection refused": (
        lambda s: {
            "body": requests.exceptions.ConnectionError(
                "HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by "
                "NewConnectionError('Failed to establish a new connection: [Errno 111] "
                "Connection refused'))"
            )
        },
        "connection refused",
        True,
    ),
    "timeout": (
        lambda s: {
            "body": requests.exceptions.ReadTimeout(
                "HTTPSConnectionPool(host='x', port=443): Read timed out. (read timeout=15)"
            )
        },
        "timeout",
        True,
    ),
    "DNS failure": (
        lambda s: {
            "body": requests.exceptions.ConnectionError(
                "HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by "
                "NameResolutionError(\"Failed to resolve 'x' ([Errno -2] Name or service not "
                'known)"))'
            )
        },
        "DNS failure",
        True,
    ),
    "HTTP 500": (lambda s: {"status": 500, "body": "Internal Server Error"}, "HTTP 500", True),
    "HTML page instead of CSV": (
        lambda s: {"body": HTML, "content_type": "text/html"},
        "HTML page instead of CSV",
        False,
    ),
    "CSV cut off mid-line": (
        lambda s: {"body": truncated_mid_line(s)},
        "truncated answer",
        False,
    ),
    "body shorter than Content-Length": (cut_short_of_content_length, "truncated answer", True),
    "empty answer": (lambda s: {"body": ""}, "empty answer", False),
}


# -- fixtures ------------------------------------------------------------------------------------


def source_settings(settings: Settings, source: str, end: date) -> Settings:
    return settings.with_overrides(
        source=source,
        start=MARKET["date"][0],
        end=end,
        http_retries=RETRIES,
        http_backoff=0.0,
        http_timeout=2.0,
        stooq_api_key=STOOQ_KEY,
    )


def checkpoint_files(settings: Settings) -> dict[Path, str | None]:
    """sha256 of each raw checkpoint file (None when absent)."""
    paths = [settings.raw_path, settings.raw_meta_path]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths}


def lost(before: dict[Path, str | None]) -> int:
    """How many checkpoint files changed or vanished since `before`."""
    return sum(
        1
        for p, sha in before.items()
        if not p.exists() or hashlib.sha256(p.read_bytes()).hexdigest() != sha
    )


@pytest.fixture(params=["fred", "live"])
def stored(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """A good raw checkpoint of the first BEFORE days, ingested from the canned source."""
    source = request.param
    first = source_settings(settings, source, MARKET["date"][BEFORE - 1])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, MARKET.head(BEFORE))
        assert ingest(first).rows == BEFORE
    return source_settings(settings, source, MARKET["date"][-1])


# -- the faults, at the function level ----------------------------------------------------


def parses(path: Path) -> bool:
    return path.is_file() and read_raw_csv(path).ok


@pytest.mark.parametrize("fault", list(FAULTS))
def test_network_fault_during_ingest(stored: Settings, fault: str, fault_report) -> None:
    """fred: SP500 fails. live: Stooq fails and so does its fallback, FRED's SP500."""
    source = stored.source
    make_fault, cause, transient = FAULTS[fault]
    before = checkpoint_files(stored)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, MARKET, fred_fault=make_fault("fred"), stooq_fault=make_fault("stooq"))
        with pytest.raises(SourceError) as caught:
            ingest(stored)
        tries = {p: attempts(mock, p) for p in ("fred", "stooq")}

    message = str(caught.value)
    expected = RETRIES + 1 if transient else 1
    assert STOOQ_KEY not in message
    if source == "fred":
        assert message.startswith("source 'fred' failed for https://fred.stlouisfed.org/"), message
        assert f"series SP500: {cause}" in message or cause in caught.value.reason, message
        assert tries == {"fred": expected, "stooq": 0}
    else:
        assert message.startswith("source 'live' failed for https://stooq.com/"), message
        assert "Stooq failed (" in message and "FRED SP500 fallback (" in message, message
        assert message.count(cause) >= 2, message  # both providers' causes are named
        assert tries == {"fred": expected, "stooq": expected}
    if transient:
        assert f"gave up after {expected} attempts" in message
    n_lost = lost(before)
    assert n_lost == 0
    names = sorted(p.name for p in stored.data_dir.iterdir() if not p.name.startswith(".lock"))
    assert [n for n in names if not n.startswith(".")] == [
        "raw_market.csv",
        "raw_market.meta.json",
    ]
    assert not [n for n in names if n.endswith(".tmp")]

    # The next run, with the source working again, succeeds on top of the kept checkpoint.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, MARKET)
        recovered = ingest(stored)
    assert recovered.rows == MARKET.height and recovered.last_date == MARKET["date"][-1]
    assert recovered.incremental_since is not None

    fault_report(
        f"{source}: {fault}" + (" (Stooq + FRED fallback)" if source == "live" else ""),
        f"{expected} tries/provider, SourceError, raw kept",
        f"{max(tries.values())} tries; {caught.value.reason[:70]}; next run ok",
        checkpoints_lost=n_lost,
    )


@pytest.mark.parametrize("fault", list(FAULTS))
def test_stooq_fault_falls_back_to_fred_closes(settings: Settings, fault: str, fault_report):
    """live with Stooq failing alone: a degraded but complete table, the cause in its notes."""
    stored = source_settings(settings, "live", MARKET["date"][-1])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, MARKET.head(BEFORE))
        ingest(stored.with_overrides(end=MARKET["date"][BEFORE - 1]))
    before = checkpoint_files(stored)
    make_fault, cause, transient = FAULTS[fault]

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, MARKET, stooq_fault=make_fault("stooq"))
        result = ingest(stored)
        tries = attempts(mock, "stooq")

    expected = RETRIES + 1 if transient else 1
    assert tries == expected
    note = result.notes[0]
    assert "because Stooq was not usable" in note and cause in note, note
    assert STOOQ_KEY not in " ".join(result.notes)
    assert result.rows == MARKET.height and result.last_date == MARKET["date"][-1]
    n_lost = sum(not parses(p) for p in before if p.suffix == ".csv")
    n_lost += sum(not p.is_file() for p in before)
    assert n_lost == 0

    fault_report(
        f"live: Stooq {fault}",
        f"{expected} tries, FRED SP500 fallback + note",
        f"{tries} tries; note: ...{note[note.index('(') : note.index('(') + 50]}",
        checkpoints_lost=n_lost,
    )


# -- once through the Prefect flow -----------------------------------------------------------

#: The fast model of tests/conftest.py, quick HTTP retries, and no hour-long approval wait.
FLOW_ENV = FAST_TRAINING | {
    "VOLPRED_HTTP_RETRIES": "1",
    "VOLPRED_HTTP_BACKOFF": "0",
    "VOLPRED_HTTP_TIMEOUT": "2",
    # Should the recovery run's model be judged worse, do not wait an hour for an analyst.
    "VOLPRED_APPROVAL_TIMEOUT": "1",
    # The faults injected here are the market series'; macro downloads have tests of their own.
    "VOLPRED_MACRO_SOURCE": "none",
}
#: Enough FRED history (closes only, as FRED serves them) to train the fast model on.
LONG_MARKET = make_raw(2300, seed=9, start=date(2015, 1, 1))


@pytest.mark.integration
def test_fred_http_500_fails_the_flow_and_the_next_run_succeeds(
    prefect_server, tmp_path, settings, monkeypatch, fault_report
) -> None:
    import volpred.flows.pipeline as pipeline

    for key, value in FLOW_ENV.items():
        monkeypatch.setenv(key, value)
    # The flow's ingest task retries a download failure once (VOLPRED_INGEST_RETRIES, 1), after
    # 5 minutes; the retry stays (it is part of what is proven), the wait goes.
    monkeypatch.setenv("VOLPRED_INGEST_RETRY_DELAYS", "[0]")
    prefect_attempts = Settings().ingest_retries + 1
    assert prefect_attempts == 2
    most = http.most_attempts(Settings())
    assert most == 4  # 2 task attempts x (VOLPRED_HTTP_RETRIES 1 + 1) GETs

    def run(frame: pl.DataFrame, refresh: bool) -> Any:
        return pipeline.volpred_pipeline(
            source="fred",
            start=frame["date"][0],
            end=frame["date"][-1],
            refresh=refresh,
            data_dir=tmp_path / "data",
            artifacts_dir=tmp_path / "artifacts",
            results_dir=tmp_path / "results",
            services=[],
            report=False,
            return_state=True,
        )

    # The same answer before and after the outage: the recovery run trains the same model, which
    # is already served (a different one could be judged worse and pause for an analyst).
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, LONG_MARKET)
        assert run(LONG_MARKET, refresh=False).is_completed()
    before = checkpoint_files(Settings(data_dir=tmp_path / "data"))

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, LONG_MARKET, fred_fault={"status": 500, "body": "Internal Server Error"})
        failed = run(LONG_MARKET, refresh=True)
        calls = sum("id=SP500" in call.request.url for call in mock.calls)
    assert failed.is_failed()
    ingest_run = task_runs(failed)["ingest_data"]
    assert ingest_run.state.name == "Failed"
    message = ingest_run.state.message or ""
    assert "source 'fred' failed for https://fred.stlouisfed.org" in message, message
    assert "HTTP 500" in message and "gave up after 2 attempts" in message, message
    assert "clean_data" not in task_runs(failed)
    assert calls == most  # the bound is reached, never passed
    with pytest.raises(SourceError, match="source 'fred' failed.*HTTP 500"):
        failed.result()
    n_lost = lost(before)
    assert n_lost == 0

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, LONG_MARKET)
        recovered = run(LONG_MARKET, refresh=True)
    assert recovered.is_completed(), recovered.message
    assert task_runs(recovered)["ingest_data"].state.name == "Completed"
    assert recovered.result()["raw"]["rows"] == LONG_MARKET.height

    fault_report(
        "flow, fred: HTTP 500",
        f"ingest_data Failed naming fred; {most} tries",
        f"{calls} tries ({prefect_attempts} task tries x 2 GETs); {message[:40]}",
        checkpoints_lost=n_lost,
    )
