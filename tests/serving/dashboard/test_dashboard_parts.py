"""The dashboard's pure parts: number formats, the card's tables, figures, the service's
command and environment, the event lines."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from volpred.config import Settings
from volpred.report import numbers
from volpred.serving.dashboard import events, figures, launcher, tables
from volpred.serving.dashboard.client import columns_to_frame


def test_number_formats_are_what_the_analyst_reads() -> None:
    assert numbers.vol(0.18349) == "18.3%"
    assert numbers.ret(0.0055) == "+0.55%"
    assert numbers.ret(-0.0123) == "-1.23%"
    assert numbers.vol_band(0.1, 0.2) == "10.0% to 20.0%"
    assert numbers.vol(None) == numbers.ret(float("nan")) == "n/a"


@pytest.fixture(scope="module")
def card(served: Settings) -> dict:
    return json.loads((served.artifacts_dir / "model_card.json").read_text())


def test_metric_tables_cover_every_model_and_year(card: dict) -> None:
    years = sorted(card["metrics"]["by_year"])
    table = tables.metric_table(card, "vol", "qlike")
    assert table["year"].to_list() == [int(y) for y in years]
    assert {"selected", "har", "rw", "vix", "garch"} <= set(table.columns)
    assert table["selected"].null_count() < table.height
    assert "oos_r2:har" in tables.metric_names(card, "vol")
    assert "hit_rate" in tables.metric_names(card, "ret")
    r2_har = tables.metric_table(card, "vol", "oos_r2:har")
    last = years[-1]
    assert r2_har["selected"][-1] == pytest.approx(
        card["metrics"]["by_year"][last]["vol"]["selected"]["oos_r2"]["har"]
    )


def test_the_evidence_table_has_a_row_per_predictor_group(card: dict) -> None:
    table = tables.evidence_table(card)
    groups = card["metrics"]["evidence"]["groups"]
    assert table["group"].to_list() == list(groups)
    first = next(iter(groups))
    assert table["qlike_change"][0] == pytest.approx(groups[first]["qlike_change"])
    assert table["selected"][0] == groups[first]["selected"]
    assert tables.evidence_table({"metrics": {}}).is_empty()


def test_summary_table_puts_the_selected_model_first(card: dict) -> None:
    table = tables.summary_table(card, "overall", "vol")
    assert table["model"][0] == "selected"
    assert {"rmse", "qlike", "oos_r2:har"} <= set(table.columns)
    assert tables.summary_table(card, "no_such_period", "vol").is_empty()


def test_figures_draw_the_data_they_are_given(card: dict) -> None:
    days = pl.date_range(date(2020, 1, 1), date(2020, 3, 31), "1d", eager=True)
    vix = [20.0] * 30 + [40.0] * 20 + [18.0] * (len(days) - 50)
    table = pl.DataFrame(
        {
            "date": days,
            "vix": vix,
            "rv21": [0.15] * len(days),
            "parkinson21": [0.14] * len(days),
            "garman_klass21": [0.13] * len(days),
            "term_spread": [1.0] * len(days),
        }
    )
    spans = figures.regime_spans(table, 30)
    assert spans == [(days[30], days[49])]
    fig = figures.realized_vol(table, spans)
    assert [t.name for t in fig.data] == [
        "RV21 close-to-close",
        "Parkinson (high-low)",
        "Garman-Klass (OHLC)",
    ]
    assert len(fig.layout.shapes) == 1
    assert figures.term_spread(table, spans).data[0].y[0] == 1.0
    by_year = figures.metrics_by_year(card, "vol", "qlike")
    assert "selected" in {t.name for t in by_year.data}


def test_columns_to_frame_reads_the_apis_table_shape() -> None:
    frame = columns_to_frame(
        {
            "columns": ["date", "vix"],
            "data": {"date": ["2024-01-02", "2024-01-03"], "vix": [13.2, None]},
        }
    )
    assert frame.schema == pl.Schema({"date": pl.Date, "vix": pl.Float64})
    assert frame["vix"].null_count() == 1


def test_service_command_and_environment(tmp_path: Path) -> None:
    settings = Settings(
        run_dir=tmp_path,
        dashboard_port=8642,
        dashboard_api_url="http://api:5000",
        api_key="k",  # type: ignore[arg-type]
    )
    cmd = launcher.command(settings)
    assert cmd[cmd.index("run") + 1] == str(launcher.APP) and launcher.APP.is_file()
    assert cmd[cmd.index("--server.port") + 1] == "8642"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    env = launcher.environment(settings)
    assert env["VOLPRED_DASHBOARD_API_URL"] == "http://api:5000"
    assert env["VOLPRED_API_KEY"] == "k"
    assert launcher.health_url(settings) == "http://127.0.0.1:8642/_stcore/health"
    assert launcher.read_marker(settings) == {}


def test_events_are_one_structured_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="volpred.serving.dashboard")
    events.event("input_changed", input="VIX", value=35.0, note="two words")
    assert caplog.records[-1].getMessage() == (
        "event=input_changed input=VIX value=35.0 note='two words'"
    )


def test_cli_dashboard_command_passes_flags_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from volpred import cli
    from volpred.runtime.processes import Service

    seen: dict[str, Settings] = {}

    def fake_start(settings: Settings) -> Service:
        seen["background"] = settings
        return Service("dashboard", 4242, [], None, "run/dashboard.log", "now")

    def fake_foreground(settings: Settings) -> int:
        seen["foreground"] = settings
        return 0

    monkeypatch.setattr(launcher, "start_dashboard", fake_start)
    monkeypatch.setattr(launcher, "run_foreground", fake_foreground)
    runner = CliRunner()
    result = runner.invoke(
        cli.app, ["dashboard", "--background", "--port", "8642", "--api-url", "http://api:1"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pid"] == 4242
    assert seen["background"].dashboard_url == "http://127.0.0.1:8642"
    assert seen["background"].api_url_for_dashboard == "http://api:1"
    assert runner.invoke(cli.app, ["dashboard"]).exit_code == 0
    assert seen["foreground"].dashboard_port == 8501
