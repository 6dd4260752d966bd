"""Chained sources: a history file continued by FRED, Stooq or live, through `ingest()`.

The network answers are canned at the HTTP layer with `responses` in each provider's own format
(FRED's fredgraph CSV read by pandas-datareader, Stooq's download), so the real parsers run.
One made-up market of 60 business days plays both sides: the user's file holds its first days,
the providers serve it (or parts of it, or revised values).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests
import responses
from responses.matchers import query_param_matcher
from typer.testing import CliRunner

from tests.support.markets import make_raw
from volpred.cli import app
from volpred.config import Settings
from volpred.data import sources
from volpred.data.ingest import ingest
from volpred.data.sources import INCREMENTAL, SourceError, fred
from volpred.runtime import cachekeys

STOOQ_URL = Settings.model_fields["stooq_url"].default
MARKET = make_raw(60, seed=3, start=date(2024, 1, 1))
DAY = MARKET["date"].to_list()
FRED_SERIES = {**fred.SPX_SERIES, **fred.VIX_RATE_SERIES}
CLOSES_ONLY = ["spx_open", "spx_high", "spx_low", "spx_volume", "vix_open", "vix_high", "vix_low"]


def fred_body(series_id: str, frame: pl.DataFrame) -> str:
    column = FRED_SERIES[series_id]
    rows = frame.select("date", column).rows()
    return f"observation_date,{series_id}\n" + "".join(
        f"{d},{'.' if v is None else v}\n" for d, v in rows
    )


def serve_fred(frame: pl.DataFrame, series: dict[str, str] = FRED_SERIES) -> None:
    for series_id in series:
        responses.get(
            fred.FRED_CSV_URL,
            body=fred_body(series_id, frame),
            match=[query_param_matcher({"id": series_id})],
        )


def serve_stooq(frame: pl.DataFrame) -> None:
    columns = ["date", "spx_open", "spx_high", "spx_low", "spx_close", "spx_volume"]
    rows = [",".join(str(v) for v in row) for row in frame.select(columns).rows()]
    responses.get(STOOQ_URL, body="\r\n".join(["Date,Open,High,Low,Close,Volume", *rows]) + "\r\n")


def serve_live(frame: pl.DataFrame) -> None:
    serve_fred(frame, fred.VIX_RATE_SERIES)
    serve_stooq(frame)


def stooq_windows() -> list[str]:
    return [c.request.params["d1"] for c in responses.calls if c.request.url.startswith(STOOQ_URL)]


def revise(frame: pl.DataFrame, day: date, column: str, value: float) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("date") == day).then(value).otherwise(pl.col(column)).alias(column)
    )


@dataclass
class Chain:
    settings: Settings
    history: Path

    def run(self, source: str, end: date = DAY[-1]) -> Any:
        return ingest(self.settings.with_overrides(source=source, end=end))

    def at(self, source: str, end: date = DAY[-1]) -> Settings:
        return self.settings.with_overrides(source=source, end=end)

    def stored(self) -> pl.DataFrame:
        return pl.read_csv(self.settings.raw_path, try_parse_dates=True)

    def meta(self) -> dict[str, Any]:
        return json.loads(self.settings.raw_meta_path.read_text())

    def checkpoint(self) -> tuple[bytes, bytes]:
        return self.settings.raw_path.read_bytes(), self.settings.raw_meta_path.read_bytes()


@pytest.fixture
def chain(settings: Settings, tmp_path: Path) -> Chain:
    """The user's file holds the market's first 50 days; providers answer at once, no retries."""
    history = tmp_path / "history.csv"
    MARKET.head(50).write_csv(history)
    net = settings.with_overrides(
        csv_path=history,
        overlap_days=5,
        http_retries=0,
        http_backoff=0.0,
        stooq_api_key="chain-test-key",
    )
    return Chain(net, history)


def row(frame: pl.DataFrame, day: date) -> dict[str, Any]:
    return frame.filter(pl.col("date") == day).row(0, named=True)


@responses.activate
def test_equal_overlap_appends_the_new_days_and_says_where_rows_came_from(chain: Chain) -> None:
    serve_live(MARKET)
    result = chain.run("csv+live")
    assert stooq_windows() == [f"{DAY[45]:%Y%m%d}"]  # five stored days back, not the whole file
    assert (result.rows, result.rows_fetched, result.revisions) == (60, 15, 0)
    assert result.source == "csv+live" and result.incremental_since == DAY[45]
    stored = chain.stored()
    assert stored["date"].to_list() == DAY
    assert stored["spx_close"].to_list() == pytest.approx(MARKET["spx_close"].to_list())
    meta = chain.meta()
    assert meta["source"] == "csv+live"
    assert meta["uris"][0] == chain.history.resolve().as_uri()
    file_part, live_part = meta["parts"]
    assert file_part == {
        "source": "csv",
        "uri": chain.history.resolve().as_uri(),
        "sha256": file_part["sha256"],
        "first_date": str(DAY[0]),
        "last_date": str(DAY[49]),
        "rows": 50,
    }
    assert live_part["source"] == "live" and STOOQ_URL in live_part["uris"][0]
    assert (live_part["first_date"], live_part["last_date"], live_part["rows"]) == (
        str(DAY[50]),
        str(DAY[59]),
        10,
    )
    assert (live_part["fetched_since"], live_part["rows_fetched"]) == (str(DAY[45]), 15)
    assert result.as_dict()["parts"] == meta["parts"]


@responses.activate
def test_revisions_on_the_overlap_are_logged_counted_and_applied(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="volpred.data.ingest")
    revised = revise(MARKET, DAY[47], "spx_close", 123.25)
    revised = revise(revised, DAY[48], "vix_close", 31.5)
    serve_live(revised)
    result = chain.run("csv+live")
    assert result.revisions == 2 and chain.meta()["revisions"] == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"revision {DAY[47]} spx_close: ") for m in messages)
    assert any(m.startswith(f"revision {DAY[48]} vix_close: ") for m in messages)
    assert "ingest_data: 2 revised values applied" in messages
    stored = chain.stored()
    assert row(stored, DAY[47])["spx_close"] == 123.25
    assert row(stored, DAY[48])["vix_close"] == 31.5


@responses.activate
def test_a_closes_only_source_never_nulls_the_files_ohlc(chain: Chain) -> None:
    serve_fred(MARKET)
    result = chain.run("csv+fred")
    assert result.revisions == 0  # a value FRED does not have is not a revision
    stored = chain.stored()
    for day in DAY[45:50]:  # the overlap keeps every value of the file
        assert row(stored, day) == pytest.approx(row(MARKET, day))
    appended = stored.filter(pl.col("date") > DAY[49])
    assert appended.height == 10
    assert appended.select(CLOSES_ONLY).null_count().row(0) == (10,) * len(CLOSES_ONLY)
    assert appended["spx_close"].to_list() == pytest.approx(MARKET["spx_close"][50:].to_list())
    note = next(n for n in result.notes if n.startswith("fred has no "))
    assert (
        "fred has no spx_open, spx_high, spx_low, spx_volume, vix_open, vix_high, vix_low; " in note
    )
    assert "on the 5 overlapping days the stored values are kept" in note
    assert f"the 10 days appended ({DAY[50]}..{DAY[59]}) have none" in note


@responses.activate
def test_a_gap_after_the_file_is_said_not_filled(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="volpred.data.sources.chained")
    MARKET.head(20).write_csv(chain.history)
    serve_fred(MARKET.tail(30))  # FRED starts ten business days after the file's last day
    result = chain.run("csv+fred")
    stored = chain.stored()
    assert stored["date"].to_list() == DAY[:20] + DAY[30:]  # nothing made up in between
    gap = next(n for n in result.notes if n.startswith("gap: "))
    assert f"first new day {DAY[30]} comes 10 business days after the last stored day" in gap
    assert str(DAY[19]) in gap and "nothing was filled in" in gap
    assert [r.getMessage() for r in caplog.records] == [gap]
    assert chain.meta()["parts"][1]["first_date"] == str(DAY[30])


@responses.activate
def test_a_weekend_and_a_holiday_are_no_gap(chain: Chain) -> None:
    serve_fred(MARKET.filter(pl.col("date") != DAY[50]))  # one missing business day
    result = chain.run("csv+fred")
    assert not [n for n in result.notes if n.startswith("gap")]


@responses.activate
def test_network_failure_fails_the_chain_retryably_and_keeps_the_checkpoint(
    chain: Chain,
) -> None:
    serve_live(MARKET.head(55))
    chain.run("csv+live", end=DAY[54])
    before = chain.checkpoint()
    responses.reset()
    responses.get(fred.FRED_CSV_URL, status=500)
    serve_stooq(MARKET)
    with pytest.raises(SourceError) as caught:
        chain.run("csv+live")
    error = caught.value
    assert error.source == "csv+live" and error.source in INCREMENTAL  # the flow retries it
    assert str(error).startswith("source 'csv+live' failed for https://fred.stlouisfed.org/")
    assert "HTTP 500" in error.reason and "--source csv reads the file alone" in error.reason
    assert not stooq_windows()
    assert chain.checkpoint() == before


def test_the_flow_retries_a_chains_download_but_not_its_file() -> None:
    from volpred.flows.tasks import is_network_failure

    @dataclass
    class Failed:
        error: SourceError

        def result(self, raise_on_failure: bool) -> SourceError:
            return self.error

    download = SourceError("csv+fred", fred.series_uri("SP500"), "HTTP 500")
    assert is_network_failure(None, None, Failed(download))
    assert not is_network_failure(None, None, Failed(SourceError("csv", "h.csv", "line 2")))


@responses.activate
def test_network_failure_on_a_first_run_writes_nothing(chain: Chain) -> None:
    responses.get(fred.FRED_CSV_URL, body=requests.exceptions.ReadTimeout("Read timed out."))
    settings = chain.at("csv+fred")
    with pytest.raises(
        SourceError, match=r"source 'csv\+fred' failed .*fred: series SP500: timeout"
    ):
        ingest(settings)
    assert not settings.raw_path.exists() and not settings.raw_meta_path.exists()


@responses.activate
def test_a_rerun_with_the_same_file_fetches_only_the_overlap_and_keeps_revisions(
    chain: Chain,
) -> None:
    MARKET.head(40).write_csv(chain.history)
    revised = revise(MARKET, DAY[37], "spx_close", 77.5)  # in the file's overlap
    serve_live(revised.head(50))
    first = chain.run("csv+live", end=DAY[49])
    assert (first.incremental_since, first.revisions) == (DAY[35], 1)

    responses.reset()
    serve_live(revised)
    second = chain.run("csv+live")
    assert stooq_windows() == [f"{DAY[45]:%Y%m%d}"]  # the checkpoint's last days, not the file's
    assert (second.incremental_since, second.rows_fetched, second.rows) == (DAY[45], 15, 60)
    assert second.revisions == 0  # the file's old value does not come back on the overlap
    assert row(chain.stored(), DAY[37])["spx_close"] == 77.5
    file_part, live_part = chain.meta()["parts"]
    assert (file_part["rows"], live_part["rows"]) == (40, 20)
    assert (live_part["first_date"], live_part["last_date"]) == (str(DAY[40]), str(DAY[59]))


@responses.activate
def test_a_changed_file_rebuilds_from_the_file(chain: Chain) -> None:
    serve_live(MARKET)
    chain.run("csv+live", end=DAY[49])
    MARKET.head(55).write_csv(chain.history)  # the user brought the file up to date
    responses.reset()
    serve_live(MARKET)
    result = chain.run("csv+live")
    assert stooq_windows() == [f"{DAY[50]:%Y%m%d}"]
    assert result.incremental_since == DAY[50] and result.rows == 60
    assert [p["rows"] for p in chain.meta()["parts"]] == [55, 5]


@responses.activate
def test_a_malformed_history_is_refused_by_file_and_line_before_any_download(
    chain: Chain,
) -> None:
    serve_live(MARKET)
    chain.run("csv+live")
    before = chain.checkpoint()
    calls = len(responses.calls)
    lines = chain.history.read_text().splitlines()
    lines[7] = lines[7].replace(",", ",12x", 1)  # the first number of line 8
    chain.history.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError) as caught:
        chain.run("csv+live")
    message = str(caught.value)
    assert "history.csv" in message and "line 8, column 'spx_open'" in message
    assert caught.value.source == "csv" and "csv" not in INCREMENTAL  # not retried by the flow
    assert len(responses.calls) == calls
    assert chain.checkpoint() == before


def test_the_cache_key_follows_the_history_files_content(chain: Chain) -> None:
    settings = chain.at("csv+fred")
    key = cachekeys.ingest_key(settings)
    MARKET.head(51).write_csv(chain.history)
    assert cachekeys.ingest_key(settings) != key


def test_a_chain_is_not_a_loadable_source(chain: Chain) -> None:
    with pytest.raises(SourceError, match="read by ingest_data: load 'csv' and 'live'"):
        sources.load("csv+live", chain.settings)


@responses.activate
def test_cli_as_the_readme_says(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLPRED_MACRO_SOURCE", "none")  # macro downloads have tests of their own
    serve_fred(MARKET)
    data = tmp_path / "cli-data"
    args = ["ingest", "--source", "csv+fred", "--path", str(chain.history)]
    result = CliRunner().invoke(app, [*args, "--end", str(DAY[-1]), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["source"] == "csv+fred" and printed["rows"] == 60
    assert [p["source"] for p in printed["parts"]] == ["csv", "fred"]


@responses.activate
def test_a_repeated_date_in_the_file_counts_once_the_last_row_winning(chain: Chain) -> None:
    repeated = revise(MARKET.slice(47, 1), DAY[47], "spx_close", 99.0)
    pl.concat([MARKET.head(50), repeated]).write_csv(chain.history)  # a corrected row at the end
    serve_live(MARKET)
    result = chain.run("csv+live")
    assert "history: the last row of each repeated date is kept" in result.notes
    assert result.revisions == 1  # the network's value against the file's last row, once
    assert chain.stored()["date"].to_list() == DAY
    assert chain.meta()["parts"][0]["rows"] == 50
