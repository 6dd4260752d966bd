"""Macro series downloaded through pandas-datareader's real parsing, `responses` answering its
GETs: FRED's latest values, ALFRED vintages, and the failures that must be `SourceError`s."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import requests
import responses
from responses.matchers import query_param_matcher

from volpred.config import Settings
from volpred.data import macro
from volpred.data.sources import fred
from volpred.data.sources.base import SourceError

D = date.fromisoformat
# Made-up values in FRED's layout: weekly Fridays, monthly 1sts, daily weekdays.
BODIES = {
    "ANFCI": "observation_date,ANFCI\n2024-02-16,-0.51\n2024-02-23,-0.52\n2024-03-01,-0.53\n",
    "CFNAI": "observation_date,CFNAI\n2023-12-01,0.2\n2024-01-01,-0.3\n",
    "DGS30": "observation_date,DGS30\n2024-03-06,4.25\n2024-03-07,\n2024-03-08,4.26\n",
}


def specs(*ids: str) -> list[macro.SeriesSpec]:
    return [s for s in macro.DEFAULT_SERIES if s.id in ids]


def serve(series_id: str, url: str = fred.FRED_CSV_URL, **kwargs: object) -> None:
    params = kwargs.pop("params", {"id": series_id})
    if "body" not in kwargs and "status" not in kwargs:
        kwargs["body"] = BODIES[series_id]
    responses.get(url, match=[query_param_matcher(params)], **kwargs)


@pytest.fixture
def net(settings: Settings) -> Settings:
    return settings.with_overrides(
        start=date(2024, 1, 2), end=date(2024, 3, 8), http_retries=2, http_backoff=0.0
    )


@responses.activate
def test_fetch_dates_each_value_by_its_publication(net: Settings) -> None:
    for series_id in BODIES:
        serve(series_id)
    result = macro.fetch_macro(specs(*BODIES), net.with_overrides(http_timeout=4.5))
    assert result.source == "fred" and result.series == ["ANFCI", "CFNAI", "DGS30"]
    assert result.uris == [fred.series_uri(s) for s in result.series]
    assert all(call.request.req_kwargs["timeout"] == 4.5 for call in responses.calls)
    rows = {(r[0], r[1]): (r[2], r[3]) for r in result.frame.rows()}
    assert rows[("ANFCI", D("2024-03-01"))] == (D("2024-03-06"), -0.53)  # Fri -> Wed
    assert rows[("CFNAI", D("2024-01-01"))] == (D("2024-02-29"), -0.3)  # month end after
    assert rows[("DGS30", D("2024-03-08"))] == (D("2024-03-11"), 4.26)  # next business day
    assert ("DGS30", D("2024-03-07")) not in rows  # an empty cell is no observation
    assert "latest vintage" in result.notes[0]
    # Two months old is fresh for a monthly series (a daily one would be stale). Short
    # histories count what the window can use: DGS30 of 03-08 is out only on 03-11.
    assert [(s["series"], s["first"], s["observations"]) for s in result.short_series] == [
        ("ANFCI", D("2024-02-16"), 3),
        ("CFNAI", D("2023-12-01"), 2),
        ("DGS30", D("2024-03-06"), 1),
    ]
    joined = macro.join_macro(pl.DataFrame({"date": [D("2024-03-06")]}), result.frame)
    # On Wed 03-06: Friday's ANFCI is out, January's CFNAI too, DGS30 of 03-06 not yet.
    assert joined.row(0) == (
        D("2024-03-06"), -0.53, D("2024-03-01"), -0.3, D("2024-01-01"), None, None
    )  # fmt: skip


@responses.activate
def test_a_stale_daily_series_is_an_error(net: Settings) -> None:
    serve("DGS30", body="observation_date,DGS30\n2024-01-30,4.1\n2024-01-31,4.2\n")
    with pytest.raises(SourceError, match="series DGS30 stops at 2024-01-31, more than 21 days"):
        macro.fetch_macro(specs("DGS30"), net)


@responses.activate
def test_vintages_come_from_alfred(net: Settings) -> None:
    vintage = date(2024, 3, 1)
    params = {"id": "ICSA", "vintage_date": "2024-03-01"}
    body = "observation_date,ICSA_20240301\n2024-02-17,201000.0\n2024-02-24,215000.0\n"
    serve("ICSA", url=fred.ALFRED_CSV_URL, params=params, body=body)
    later = net.with_overrides(end=date(2024, 4, 30), macro_vintage_date=vintage)
    result = macro.fetch_macro(specs("ICSA"), later)
    assert result.source == "alfred"
    assert result.uris == [f"{fred.ALFRED_CSV_URL}?id=ICSA&vintage_date=2024-03-01"]
    assert result.frame["value"].to_list() == [201000.0, 215000.0]
    assert "ALFRED vintage of 2024-03-01" in result.notes[0]
    # The vintage ends the window: 02-24 is fresh on 03-01, though stale by 04-30.
    assert len(responses.calls) == 1


@responses.activate
def test_ice_bofa_note_and_short_history(net: Settings) -> None:
    days = pl.date_range(date(2021, 3, 8), date(2024, 3, 8), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    rows = "".join(f"{d},3.1\n" for d in days)
    serve("BAMLH0A0HYM2", body=f"observation_date,BAMLH0A0HYM2\n{rows}")
    wide = net.with_overrides(start=date(2010, 1, 4))
    result = macro.fetch_macro(specs("BAMLH0A0HYM2"), wide)
    assert any("about the last three years of the ICE BofA" in note for note in result.notes)
    [short] = result.short_series
    assert short["series"] == "BAMLH0A0HYM2" and short["years"] == 3.0
    assert short["observations"] == days.len() - 1  # the last one is out after the window


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 500, "body": "oops"}, "series CFNAI: HTTP 500"),
        ({"body": "<html><body>Maintenance</body></html>"}, "HTML page instead of CSV"),
        ({"body": "observation_date,CFNAI\n2024-01-01,x1\n"}, "non-numeric value 'x1'"),
        ({"body": "observation_date,CFNAI\n2024-01-01,0.1\n2024-02-0"}, "not a FRED CSV"),
        (
            {"body": requests.exceptions.ConnectionError("[Errno 111] Connection refused")},
            "connection refused",
        ),
    ],
    ids=["http-500", "html", "junk", "truncated", "refused"],
)
@responses.activate
def test_failed_downloads_are_source_errors(
    net: Settings, answer: dict[str, object], expected: str
) -> None:
    serve("ANFCI")
    serve("CFNAI", **answer)
    with pytest.raises(SourceError) as caught:
        macro.fetch_macro(specs("ANFCI", "CFNAI"), net)
    assert caught.value.source == "fred"
    assert caught.value.uri == fred.series_uri("CFNAI")
    assert expected in caught.value.reason


@responses.activate
def test_downloads_reach_back_before_the_start(net: Settings) -> None:
    # November's value, published at the end of December, fills the first January days; a
    # year-old one lies outside the look-back and is cut by pandas-datareader.
    body = "observation_date,CFNAI\n2023-01-01,0.5\n2023-11-01,0.1\n2023-12-01,0.2\n"
    serve("CFNAI", body=body)
    result = macro.fetch_macro(specs("CFNAI"), net)
    assert result.frame["obs_date"].to_list() == [D("2023-11-01"), D("2023-12-01")]
    daily = pl.DataFrame({"date": [D("2024-01-02"), D("2024-01-31")]})
    joined = macro.join_macro(daily, result.frame)
    assert joined["cfnai_obs_date"].to_list() == [D("2023-11-01"), D("2023-12-01")]


@responses.activate
def test_a_macro_folder_is_read_without_the_network(tmp_path: Path, net: Settings) -> None:
    for series_id, body in BODIES.items():
        (tmp_path / f"{series_id}.csv").write_text(body)
    chosen = net.with_overrides(macro_dir=tmp_path, macro_series=list(BODIES), macro_min_years=0)
    from volpred.data.auxiliary import ingest_macro

    result = ingest_macro(chosen)
    assert result.kind == "folder" and len(responses.calls) == 0
    assert pl.read_parquet(chosen.macro_checkpoint)["series"].unique(
        maintain_order=True
    ).to_list() == list(BODIES)
