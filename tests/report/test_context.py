"""The report's content without a browser or WeasyPrint: inputs, verdicts, formatting, the
template's rules (autoescape, no numbers of its own, the synthetic mark)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.cards import changed, make_card
from volpred.config import Settings
from volpred.report import ReportError, numbers, render
from volpred.report import context as ctx
from volpred.report.figures import FIGURES
from volpred.report.inputs import ReportInputs, load_inputs


@pytest.fixture(scope="module")
def inputs(served: Settings) -> ReportInputs:
    return load_inputs(served)


def _with_card(inputs: ReportInputs, **changes: object) -> ReportInputs:
    return ReportInputs(
        card=changed(inputs.card, **changes),
        version_dir=inputs.version_dir,
        oos=inputs.oos,
        table=inputs.table,
        cleaning=inputs.cleaning,
        raw_meta=inputs.raw_meta,
    )


def _html(inputs: ReportInputs) -> str:
    figures = {
        d.name: {"caption": d.caption, "section": d.section, "name": d.name} for d in FIGURES
    }
    context, _ = ctx.build_context(
        inputs,
        run_id="test-run",
        generated_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        default_level=0.8,
        figures=figures,
    )
    return render.render_html(context, {d.name: f"figures/{d.name}.png" for d in FIGURES})


def test_missing_model_names_the_command_to_run(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts")
    with pytest.raises(ReportError, match="volpred train"):
        load_inputs(settings)


def test_missing_cleaned_data_names_the_command_to_run(served, tmp_path):
    shutil.copytree(served.artifacts_dir, tmp_path / "artifacts")
    settings = Settings(data_dir=tmp_path / "empty", artifacts_dir=tmp_path / "artifacts")
    with pytest.raises(ReportError, match="volpred clean"):
        load_inputs(settings)


def test_formatting_rules():
    assert numbers.num(0.265064952) == "0.2651"
    assert numbers.num(None) == numbers.num(float("nan")) == "n/a"
    assert numbers.pct(0.13980525, 2) == "13.98%"
    assert numbers.signed_pct(0.0826) == "+8.3%"
    assert numbers.pval(0.21634) == "0.216"
    assert numbers.pval(1e-9) == "<0.001"
    assert numbers.pval(None) == "–"
    assert numbers.level(4274.81) == "4,274.81"
    assert numbers.count(9392) == "9,392"


def test_summary_says_when_har_wins(inputs):
    """Make HAR better than the selected model: the summary must say the model loses."""
    overall = inputs.card.metrics.overall.vol
    worse = _with_card(
        inputs,
        metrics__overall__vol__har__qlike=overall["selected"]["qlike"] / 2,
        metrics__per_year_selected_vs_har={"2020": {"qlike_change": 0.3, "rmse_change": 0.1}},
    )
    texts = [f.text for f in ctx.summary_findings(worse, 0.8)]
    assert any("loses to HAR" in t for t in texts)
    assert any("HAR-RV on QLIKE" in t for t in texts)
    assert any("lost to HAR on QLIKE in 1 of 1 years (2020)" in t for t in texts)


def test_summary_says_when_the_return_forecast_is_no_better_than_the_mean(inputs):
    bad = _with_card(inputs, metrics__overall__ret__selected__oos_r2__hist_mean=-0.0123)
    findings = ctx.summary_findings(bad, 0.8)
    ret = next(f for f in findings if f.text.startswith("Return:"))
    assert "-0.0123" in ret.text and "no better than the historical mean" in ret.text
    assert ret.level == "warn"
    good = _with_card(inputs, metrics__overall__ret__selected__oos_r2__hist_mean=0.02)
    ret = next(f for f in ctx.summary_findings(good, 0.8) if f.text.startswith("Return:"))
    assert ret.level == "good" and "0.0200" in ret.text


def test_metric_tables_come_from_the_card(inputs):
    table = ctx.vol_metrics_table(inputs.card.metrics.overall, "vol", "caption")
    har = inputs.card.metrics.overall.vol["har"]
    row = table.rows[[r[0] for r in table.rows].index(ctx.VOL_MODELS["har"])]
    assert row[1:4] == [f"{har['r2']:.4f}", f"{har['rmse']:.4f}", f"{har['qlike']:.4f}"]
    assert table.row_classes[0] == "selected"


def test_synthetic_mark_only_for_synthetic_data(inputs):
    html = _html(inputs)
    assert inputs.synthetic
    assert 'id="synthetic-mark"' in html and "SYNTHETIC SAMPLE DATA" in html
    real = changed(inputs.card, data__source="csv", data__synthetic=False)
    cleaning = inputs.cleaning | {"source": "csv", "synthetic": False}
    not_synthetic = ReportInputs(real, inputs.version_dir, inputs.oos, inputs.table, cleaning, {})
    assert not not_synthetic.synthetic
    html = _html(not_synthetic)
    assert "synthetic-mark" not in html
    assert "synthetic" not in html.lower().split("<body>")[1]


def test_template_escapes_what_it_is_given(inputs):
    hostile = _with_card(inputs, data__source="<script>alert(1)</script>")
    html = _html(hostile)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_template_types_no_numbers():
    """Every number comes from the context: the template's own text has none (the index name
    'S&P 500' and figure numbers passed to a macro inside {{ }} aside)."""
    text = (render.TEMPLATES_DIR / render.TEMPLATE).read_text(encoding="utf-8")
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<[^>]*>", "", text, flags=re.S)
    text = text.replace("S&amp;P 500", "")
    assert re.findall(r"\d", text) == []


def test_every_figure_and_table_is_in_the_html(inputs):
    html = _html(inputs)
    for d in FIGURES:
        assert f'src="figures/{d.name}.png"' in html
    for name in (
        "data_summary",
        "data_nulls",
        "vol_metrics",
        "ret_metrics",
        "interval_coverage",
        "metrics_by_year",
    ):
        assert f'id="table-{name}"' in html
    for heading in ("Executive summary", "Data", "Market", "Model", "Method and caveats"):
        assert f"<h1>{heading}</h1>" in html


def test_templates_dir_exists():
    assert (render.TEMPLATES_DIR / render.TEMPLATE).is_file()
    assert (render.TEMPLATES_DIR / render.STYLESHEET).is_file()
    assert isinstance(render.TEMPLATES_DIR, Path)


def test_cleaning_findings_and_gaps_are_reported():
    cleaning = {
        "rows_in": 1000,
        "rows_out": 997,
        "rows_dropped": 3,
        "findings": [
            {"kind": "bad_print", "column": "spx_close", "policy": "drop", "count": 3,
             "dates": ["2020-03-16", "2020-03-17", "2020-03-18", "2020-03-19"]},
        ],
        "nulls_before": {"dgs10": 7, "vix_close": 0},
        "nulls_after_fill": {"dgs10": 2},
    }  # fmt: skip
    assert ctx.findings_list(cleaning) == [
        "bad_print in spx_close (drop): 3 rows, first on 2020-03-16, 2020-03-17, 2020-03-18"
    ]
    card = make_card(data={"source": "csv", "synthetic": False})
    inputs = ReportInputs(card, Path("."), None, None, cleaning, {})  # type: ignore[arg-type]
    texts = [f.text for f in ctx.data_findings(inputs)]
    assert "Cleaning dropped 3 of 1,000 rows and recorded 1 findings (see Data)." in texts
    assert any("dgs10 7" in t and "missing after cleaning and filling: dgs10 2" in t for t in texts)
    facts = dict(ctx.cleaning_facts(cleaning))
    assert facts["Rows dropped by cleaning"] == "3"


def test_missing_templates_are_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="report.html.j2"):
        render.check_templates(tmp_path)
    render.check_templates()  # the repository's own templates are complete


def test_cli_report_without_a_model_exits_non_zero_with_the_reason(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from volpred.cli import app

    monkeypatch.delenv("VOLPRED_CHROMIUM_PATH", raising=False)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--data-dir",
            str(tmp_path / "d"),
            "--artifacts-dir",
            str(tmp_path / "a"),
            "--report-dir",
            str(tmp_path / "r"),
        ],  # fmt: skip
    )
    assert result.exit_code == 1
    assert "volpred train" in result.stderr
    assert not (tmp_path / "r").exists()


def test_evidence_regime_and_decade_tables_come_from_the_card(inputs):
    metrics = inputs.card.metrics
    ev = ctx.evidence_table(metrics)
    assert metrics.evidence is not None
    assert [r[0] for r in ev.rows] == [ctx.GROUP_NAMES[g] for g in metrics.evidence.groups]
    first = next(iter(metrics.evidence.groups.values()))
    assert ev.rows[0][1] == numbers.signed_pct(first.rmse_change)
    assert ev.rows[0][-1] == ("yes" if first.selected else "no")
    assert metrics.evidence.variant in ev.note
    regimes = ctx.regime_table(metrics, 0.8)
    assert [r[0] for r in regimes.rows] == ["VIX <20", "VIX 20-30", "VIX >30"]
    decades = ctx.decade_table(metrics)
    assert decades.rows and all(r[1] != numbers.MISSING for r in decades.rows)
    html = _html(inputs)
    for name in ("predictor_evidence", "coverage_by_regime", "return_by_decade"):
        assert f'id="table-{name}"' in html
    no_evidence = _with_card(inputs, metrics=metrics.model_copy(update={"evidence": None}))
    assert ctx.evidence_table(no_evidence.card.metrics).rows == []
