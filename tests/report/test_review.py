"""The report's review end to end through the CLI: a real draft (Chromium, WeasyPrint), read
back with poppler's pdftotext, then signed off or sent back by `volpred report review`."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.runs import copy_served
from volpred.cli import app
from volpred.config import Settings
from volpred.report import generate_report
from volpred.report.review import (
    ARCHIVE_DIR,
    DRAFT_MARK,
    METADATA_NAME,
    REVIEWED_HTML,
    REVIEWED_PDF,
    Review,
    ReviewError,
    archive_reviewed,
    commentary_html,
    review_report,
)

NOTES = """Vol is **subdued**; the band is wide.

- watch the VIX gap
- data are synthetic
"""


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [p for p in text.split("\f") if p.strip()]


@pytest.fixture(scope="module")
def drafted(served: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A draft report from a copy of the session's served model (one Chromium per module)."""
    root = tmp_path_factory.mktemp("review")
    settings = copy_served(served, root, report_dir=root / "reports")
    generate_report(settings, run_id="run-draft")
    return settings


def review_cli(settings: Settings, tmp_path: Path, *extra: str):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    return CliRunner().invoke(
        app,
        ["report", "review", "--by", "A. Analyst", "--notes", str(notes),
         "--report-dir", str(settings.report_dir), *extra],
    )  # fmt: skip


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_a_draft_says_so_on_every_page_and_review_signs_it_off(drafted, tmp_path):
    settings = drafted
    draft_pdf = settings.report_dir / "analysis_report.pdf"
    draft_pages = pages(draft_pdf)
    assert len(draft_pages) > 3
    assert all(DRAFT_MARK in p and "SYNTHETIC SAMPLE DATA" in p for p in draft_pages)
    html = (settings.report_dir / "analysis_report.html").read_text(encoding="utf-8")
    assert 'id="draft-mark"' in html and DRAFT_MARK in html
    meta = json.loads((settings.report_dir / METADATA_NAME).read_text())
    assert meta["status"] == "draft" and meta["run_id"] == "run-draft" and meta["review"] is None
    version = meta["model_version"]
    draft_bytes = draft_pdf.read_bytes()

    result = review_cli(settings, tmp_path)
    assert result.exit_code == 0, result.output
    reviewed = settings.report_dir / REVIEWED_PDF
    text = "\n".join(pages(reviewed))
    assert "Analyst's commentary" in text and "A. Analyst" in text
    assert "subdued" in text and "watch the VIX gap" in text
    assert "DRAFT" not in text and "not reviewed" not in text
    assert "SYNTHETIC SAMPLE DATA" in text and version in text
    reviewed_html = (settings.report_dir / REVIEWED_HTML).read_text(encoding="utf-8")
    assert "<strong>subdued</strong>" in reviewed_html and 'id="draft-mark"' not in reviewed_html
    # The draft is kept as it was; the metadata records the sign-off and the model version.
    assert draft_pdf.read_bytes() == draft_bytes
    meta = json.loads((settings.report_dir / METADATA_NAME).read_text())
    assert meta["status"] == "reviewed" and meta["model_version"] == version
    assert meta["review"]["by"] == "A. Analyst" and meta["review"]["decision"] == "approved"
    assert datetime.fromisoformat(meta["review"]["at"]) <= datetime.now(UTC)
    assert meta["review"]["notes"] == NOTES and meta["reviewed"]["pdf"] == str(reviewed)

    # Sent back by a second reader: the draft stays, the history keeps both reviews.
    again = review_cli(settings, tmp_path, "--send-back", "--run-id", "run-draft")
    assert again.exit_code == 0, again.output
    meta = json.loads((settings.report_dir / METADATA_NAME).read_text())
    assert meta["status"] == "sent back" and [h["decision"] for h in meta["history"]] == [
        "approved",
        "sent back",
    ]
    assert draft_pdf.read_bytes() == draft_bytes


@pytest.mark.integration
def test_a_review_for_another_run_or_without_a_name_is_refused(drafted, tmp_path):
    result = review_cli(drafted, tmp_path, "--run-id", "some-other-run")
    assert result.exit_code == 1 and "not some-other-run's" in result.output
    with pytest.raises(ReviewError, match="name"):
        review_report(drafted, Review(by=" ", notes="x", at=datetime.now(UTC)))
    with pytest.raises(ReviewError, match="commentary"):
        review_report(drafted, Review(by="B", notes="\n", at=datetime.now(UTC)))


def test_no_report_means_nothing_to_review(settings, tmp_path):
    empty = settings.with_overrides(report_dir=tmp_path / "none")
    with pytest.raises(ReviewError, match="no report to review"):
        review_report(empty, Review(by="A", notes="n", at=datetime.now(UTC)))


def test_commentary_is_markdown_and_raw_html_stays_text():
    html = commentary_html("**bold** <script>alert(1)</script>")
    assert "<strong>bold</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_a_new_draft_moves_the_previous_sign_off_aside(tmp_path):
    (tmp_path / REVIEWED_PDF).write_bytes(b"pdf")
    (tmp_path / REVIEWED_HTML).write_text("html")
    previous = {"status": "reviewed", "run_id": "r1", "review": {"by": "A"}}
    archive_reviewed(tmp_path, previous, "r1")  # the same run: nothing moves
    assert (tmp_path / REVIEWED_PDF).is_file()
    archive_reviewed(tmp_path, previous, "r2")
    kept = tmp_path / ARCHIVE_DIR / "r1"
    assert (kept / REVIEWED_PDF).read_bytes() == b"pdf" and not (tmp_path / REVIEWED_PDF).exists()
    assert json.loads((kept / METADATA_NAME).read_text())["review"]["by"] == "A"
    archive_reviewed(tmp_path, {"status": "draft", "run_id": "r2"}, "r3")  # nothing signed
    assert not (tmp_path / ARCHIVE_DIR / "r2").exists()
