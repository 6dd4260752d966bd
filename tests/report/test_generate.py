"""generate_report end to end: a real Chromium and WeasyPrint, the PDF read back with poppler.

One report per module (and one for the non-synthetic case), from copies of the session's
served sample model, so these tests cost one browser start and two PDFs.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from volpred.config import Settings
from volpred.report import ReportResult, generate_report, render
from volpred.report.chart_export import BrowserMissingError
from volpred.report.context import RET_MODELS, VOL_MODELS
from volpred.report.figures import FIGURES

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SECTIONS = ["Executive summary", "Data", "Market", "Model", "Method and caveats"]
TITLE_BLOCK = ["VOLPRED ANALYSIS REPORT", "Run id", "Generated at", "Data source", "Date range",
               "Model version"]  # fmt: skip
MARK = "SYNTHETIC SAMPLE DATA"


def _copy_served(served: Settings, root: Path) -> Settings:
    shutil.copytree(served.data_dir, root / "data")
    shutil.copytree(served.artifacts_dir, root / "artifacts")
    # with_overrides builds a new Settings: model_copy would keep cached paths of the original
    return served.with_overrides(
        data_dir=root / "data", artifacts_dir=root / "artifacts", report_dir=root / "reports"
    )


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def _card(settings: Settings) -> dict:
    version = (settings.artifacts_dir / "latest").read_text().strip()
    return json.loads((settings.artifacts_dir / "models" / version / "model_card.json").read_text())


def _p(p: float | None) -> str:
    """A p-value as printed: three decimals, '<0.001' below, a dash when undefined."""
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@pytest.fixture(scope="module")
def report(served: Settings, tmp_path_factory: pytest.TempPathFactory):
    settings = _copy_served(served, tmp_path_factory.mktemp("report"))
    handler = _Capture()
    logger = logging.getLogger("volpred.report")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        result = generate_report(settings, run_id="test-run-42")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return settings, result, _text(result.pdf_path), handler.messages


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_files_and_result(report):
    settings, result, _, _ = report
    assert isinstance(result, ReportResult)
    assert result.pdf_path == settings.report_dir / "analysis_report.pdf"
    assert result.html_path == settings.report_dir / "analysis_report.html"
    assert result.pdf_path.read_bytes().startswith(b"%PDF")
    assert result.model_version == _card(settings)["version"]
    assert set(result.figure_paths) == {d.name for d in FIGURES}
    for path in result.figure_paths.values():
        assert path.parent == settings.report_dir / "figures"
        assert path.read_bytes().startswith(b"\x89PNG")
    t = result.timings
    assert 0 < t.figures_s < t.total_s and 0 < t.pdf_s < t.total_s
    assert not list(settings.report_dir.rglob("*.tmp"))  # atomic writes left no temp files


def test_every_section_and_title_block(report):
    settings, result, text, _ = report
    for heading in SECTIONS:
        assert re.search(rf"^\s*{re.escape(heading)}\s*$", text, re.M), heading
    title_block = text.split("Executive summary")[0]
    for label in TITLE_BLOCK:
        assert label in title_block, label
    card = _card(settings)
    for value in ("test-run-42", card["version"], card["data"]["first_date"],
                  card["data"]["last_date"], "sample"):  # fmt: skip
        assert value in text


def test_metrics_equal_the_model_card(report):
    settings, _, text, _ = report
    overall = _card(settings)["metrics"]["overall"]
    vol_part = text.split("Walk-forward metrics, 21-day realized vol")[1].split(
        "Walk-forward metrics, 21-day log return"
    )
    vol_text, ret_text = vol_part[0], vol_part[1]
    for model, m in overall["vol"].items():
        expected = [f"{m['r2']:.4f}", f"{m['rmse']:.4f}", f"{m['qlike']:.4f}",
                    f"{m['oos_r2']['har']:.4f}", _p(m["dm_mse"]["p"]),
                    _p(m["dm_qlike"]["p"])]  # fmt: skip
        line = next(ln for ln in vol_text.splitlines() if ln.strip().startswith(VOL_MODELS[model]))
        assert line.split()[-len(expected) :] == expected, model
    for model, m in overall["ret"].items():
        expected = [f"{m['r2']:.4f}", f"{m['rmse']:.4f}", f"{m['oos_r2']['hist_mean']:.4f}",
                    f"{m['oos_r2']['zero']:.4f}", f"{m['hit_rate'] * 100:.1f}%",
                    _p(m["dm_mse"]["p"]), _p(m["clark_west"]["p"])]  # fmt: skip
        label = RET_MODELS[model]
        line = next(ln for ln in ret_text.splitlines() if ln.strip().startswith(label))
        assert line.split()[-len(expected) :] == expected, model


def test_latest_forecast_and_summary_from_the_card(report):
    settings, _, text, _ = report
    card = _card(settings)
    f = card["latest_forecast"]
    for key in ("vol", "vol_lo", "vol_hi", "ret", "ret_lo", "ret_hi"):
        assert f"{f[key] * 100:.2f}%" in text, key
    summary = text.split("Executive summary")[1].split("\nData\n")[0]
    vol = card["metrics"]["overall"]["vol"]
    flat = " ".join(summary.split())
    assert (
        f"QLIKE is {vol['selected']['qlike']:.4f} against HAR's {vol['har']['qlike']:.4f}" in flat
    )
    verdict = "beats HAR" if vol["selected"]["qlike"] < vol["har"]["qlike"] else "loses to HAR"
    assert verdict in flat
    lost = [y for y, v in card["metrics"]["per_year_selected_vs_har"].items()
            if v["qlike_change"] > 0]  # fmt: skip
    assert f"lost to HAR on QLIKE in {len(lost)} of" in flat


def test_page_count_and_running_header(report):
    _, result, text, _ = report
    info = subprocess.run(
        ["pdfinfo", str(result.pdf_path)], check=True, capture_output=True, text=True
    ).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages == result.pages
    assert 6 <= pages <= 14
    page_texts = [p for p in text.split("\f") if p.strip()]
    assert len(page_texts) == pages
    for i, page in enumerate(page_texts, start=1):
        assert f"Page {i} of {pages}" in page
        assert result.model_version in page  # running header
        assert MARK in page  # synthetic data: marked on every page


def test_every_figure_is_embedded(report):
    settings, result, text, _ = report
    listing = subprocess.run(
        ["pdfimages", "-list", str(result.pdf_path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    images = [line.split() for line in listing if line.strip()]
    assert len(images) == len(FIGURES)
    assert all(int(cols[3]) >= 1600 for cols in images)  # 2x scale: sharp on A4
    for i in range(1, len(FIGURES) + 1):
        assert f"Figure {i}." in text
    html = result.html_path.read_text()
    for d in FIGURES:
        assert f'src="figures/{d.name}.png"' in html
        assert (settings.report_dir / "figures" / f"{d.name}.png").is_file()


def test_first_page_is_not_blank(report, tmp_path):
    from PIL import Image

    _, result, _, _ = report
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "50",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(result.pdf_path),
            str(tmp_path / "page"),
        ],  # fmt: skip
        check=True,
    )
    page = np.asarray(Image.open(next(tmp_path.glob("page*.png"))).convert("L"), dtype=float)
    assert page.std() > 20
    assert (page < 200).mean() > 0.03  # text, banner and cards cover part of the page


def test_logged_start_end_figures_and_tables(report):
    _, result, _, messages = report
    assert any("start" in m and "test-run-42" in m for m in messages)
    assert any("end" in m and str(result.pdf_path) in m for m in messages)
    for path in result.figure_paths.values():
        assert any(str(path) in m for m in messages)
    for name in result.table_names:
        assert any(f"table {name}" in m for m in messages)


def test_no_synthetic_mark_for_real_data(report, tmp_path):
    """The negative case from a copy of the served sample model whose card, cleaning report
    and raw metadata are rewritten to a CSV source (training a second model on random CSV
    data would cost more than the whole module)."""
    settings = _copy_served(report[0], tmp_path)
    card_path = next((settings.artifacts_dir / "models").glob("*/model_card.json"))
    card = json.loads(card_path.read_text())
    card["data"].update(source="csv", synthetic=False)
    card_path.write_text(json.dumps(card))
    cleaning = json.loads(settings.cleaning_report_path.read_text())
    settings.cleaning_report_path.write_text(
        json.dumps(cleaning | {"source": "csv", "synthetic": False})
    )
    settings.raw_meta_path.write_text(
        json.dumps({"source": "csv", "synthetic": False, "uris": ["/data/market.csv"]})
    )
    result = generate_report(settings)
    text = _text(result.pdf_path)
    assert not result.synthetic
    assert MARK not in text
    assert "synthetic" not in text.lower()
    assert "Executive summary" in text and "csv" in text


def test_failed_render_keeps_the_previous_report(report, tmp_path, monkeypatch):
    settings = _copy_served(report[0], tmp_path)
    shutil.copytree(report[0].report_dir, settings.report_dir)  # the module's good report
    before = {p: p.read_bytes() for p in settings.report_dir.rglob("*") if p.is_file()}
    broken = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES_DIR, broken)
    template = broken / render.TEMPLATE
    template.write_text(template.read_text().replace("{{ title.run_id }}", "{{ title.nope }}"))
    monkeypatch.setattr(render, "TEMPLATES_DIR", broken)
    with pytest.raises(Exception, match="nope"):
        generate_report(settings, run_id="second")
    after = {p: p.read_bytes() for p in settings.report_dir.rglob("*") if p.is_file()}
    assert after == before
    assert settings.report_dir / "analysis_report.pdf" in after


@pytest.mark.timeout(30)
def test_missing_browser_is_named_and_changes_nothing(report, tmp_path):
    settings = _copy_served(report[0], tmp_path)
    settings = settings.with_overrides(chromium_path=tmp_path / "no-chromium")
    with pytest.raises(BrowserMissingError, match="apt-get install chromium"):
        generate_report(settings)
    assert not settings.report_dir.exists()


def test_cli_prints_the_pdf_path_and_timings(report, tmp_path):
    from typer.testing import CliRunner

    from volpred.cli import app

    settings = _copy_served(report[0], tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--data-dir",
            str(settings.data_dir),
            "--artifacts-dir",
            str(settings.artifacts_dir),
            "--report-dir",
            str(settings.report_dir),
            "--run-id",
            "cli-run",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["pdf_path"] == str(settings.report_dir / "analysis_report.pdf")
    assert printed["run_id"] == "cli-run"
    assert set(printed["timings"]) >= {"figures_s", "pdf_s", "total_s"}
    assert "cli-run" in _text(Path(printed["pdf_path"]))


def test_data_section_shows_each_inputs_coverage_and_freshness(report):
    settings, _, text, _ = report
    cleaning = json.loads(settings.cleaning_report_path.read_text())
    assert "Inputs: coverage and freshness" in text
    for name, c in cleaning["inputs"].items():
        line = next(row for row in text.splitlines() if row.strip().startswith(name + " "))
        for day in (c["first_date"], c["last_date"]):
            assert (day or "none") in line, line
