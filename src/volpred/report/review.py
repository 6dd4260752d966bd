"""The report's review: every report is written as a draft, and an analyst's sign-off renders
it again with their commentary and without the draft mark.

The draft keeps what the sign-off needs beside it: its render context as JSON
(`analysis_report.context.json`, the same numbers and tables) and its figures, so the reviewed
copy is the draft's report plus the commentary, even when the served model changed in between.
The metadata file beside the PDF (`analysis_report.json`) says what the current report is:
its run, model version, status (draft, reviewed or sent back) and who reviewed it, when. The
draft's files are never changed by a review; the reviewed ones are
`analysis_report.reviewed.{pdf,html}`. When a new draft replaces a reviewed report, the
reviewed files and their metadata move to `reviewed/<run id>/`, so no sign-off is lost.

Both review paths call `review_report`: the CLI (`volpred report review`) and the
review-report flow (`volpred.flows.review`, the Prefect UI's form).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from volpred.config import Settings
from volpred.report.inputs import ReportError
from volpred.runtime.storage import read_json, staged_writes

log = logging.getLogger("volpred.report")

METADATA_NAME = "analysis_report.json"
CONTEXT_NAME = "analysis_report.context.json"
REVIEWED_PDF = "analysis_report.reviewed.pdf"
REVIEWED_HTML = "analysis_report.reviewed.html"
ARCHIVE_DIR = "reviewed"
#: What every page of a draft says (the template and stylesheet carry the same words).
DRAFT_MARK = "DRAFT — not reviewed"

Decision = Literal["approved", "sent back"]
Status = Literal["draft", "reviewed", "sent back"]


class ReviewError(ReportError):
    """The review cannot be recorded; the message says why and what to do."""


@dataclass(frozen=True)
class Review:
    """An analyst's review: who, when, their commentary (markdown) and the decision."""

    by: str
    notes: str
    at: datetime
    decision: Decision = "approved"

    def as_dict(self) -> dict[str, str]:
        return {
            "by": self.by,
            "at": self.at.astimezone(UTC).isoformat(timespec="seconds"),
            "notes": self.notes,
            "decision": self.decision,
        }


@dataclass(frozen=True)
class ReviewResult:
    status: Status
    metadata_path: Path
    model_version: str
    run_id: str
    review: Review
    pdf_path: Path | None = None
    html_path: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "metadata": str(self.metadata_path),
            "model_version": self.model_version,
            "run_id": self.run_id,
            "review": self.review.as_dict(),
            "pdf": str(self.pdf_path) if self.pdf_path else None,
            "html": str(self.html_path) if self.html_path else None,
        }


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def context_json(context: dict[str, Any]) -> bytes:
    """The draft's render context as JSON: its tables and findings become objects the template
    reads the same way (Jinja looks attributes up as keys)."""
    return json.dumps(context, default=_jsonable, ensure_ascii=False).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def draft_metadata(
    *,
    run_id: str,
    model_version: str,
    generated_at: datetime,
    synthetic: bool,
    source: str,
    pdf_path: Path,
    html_path: Path,
    pages: int,
    pdf_sha256: str,
) -> bytes:
    """The metadata of a new draft: nobody has reviewed it yet."""
    return _dump(
        {
            "status": "draft",
            "run_id": run_id,
            "model_version": model_version,
            "generated_at": generated_at.astimezone(UTC).isoformat(timespec="seconds"),
            "source": source,
            "synthetic": synthetic,
            "draft": {
                "pdf": str(pdf_path),
                "html": str(html_path),
                "pages": pages,
                "sha256": pdf_sha256,
            },
            "reviewed": None,
            "review": None,
            "history": [],
        }
    )


def _dump(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8")


def read_metadata(report_dir: Path) -> dict[str, Any] | None:
    """The current report's metadata, or None when no report was written (or it predates the
    metadata file)."""
    return read_json(report_dir / METADATA_NAME)


def archive_reviewed(report_dir: Path, previous: dict[str, Any] | None, new_run: str) -> None:
    """Move a reviewed report that a new draft (of `new_run`) replaced to
    `reviewed/<its run id>/`, with its metadata: a sign-off is never silently lost."""
    if not previous or previous.get("status") != "reviewed" or previous.get("run_id") == new_run:
        return
    target = report_dir / ARCHIVE_DIR / str(previous["run_id"])
    target.mkdir(parents=True, exist_ok=True)
    for name in (REVIEWED_PDF, REVIEWED_HTML):
        if (report_dir / name).is_file():
            shutil.move(report_dir / name, target / name)
    (target / METADATA_NAME).write_bytes(_dump(previous))
    log.info("report review: the reviewed report of run %s moved to %s", previous["run_id"], target)


def commentary_html(notes: str) -> str:
    """The analyst's markdown as HTML; raw HTML in it is shown as text, never rendered."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(notes)


def template_review(meta: dict[str, Any], review: Review) -> dict[str, str]:
    """What the template's "Analyst's commentary" section shows."""
    return {
        "by": review.by,
        "at": review.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "notes_html": commentary_html(review.notes),
        "model_version": str(meta.get("model_version")),
        "run_id": str(meta.get("run_id")),
    }


def current_draft(settings: Settings, run_id: str | None = None) -> dict[str, Any]:
    """The metadata of the report a review applies to: the current one, which must be
    `run_id`'s when that is given (a review started for a report that a newer run replaced
    must not sign off the newer one)."""
    report_dir = settings.report_dir
    meta = read_metadata(report_dir)
    if meta is None or not (report_dir / CONTEXT_NAME).is_file():
        raise ReviewError(
            f"no report to review in {report_dir}: run `volpred report` (or `volpred run`) first"
        )
    if run_id and meta.get("run_id") != run_id:
        raise ReviewError(
            f"the report in {report_dir} is now run {meta.get('run_id')}'s, not {run_id}'s: "
            "review the current one"
        )
    return meta


def review_report(settings: Settings, review: Review, *, run_id: str | None = None) -> ReviewResult:
    """Record `review` of the current report. Approved: the reviewed PDF and HTML are
    rendered (the draft's content, an "Analyst's commentary" section, no draft mark) and the
    metadata says reviewed. Sent back: the draft stays as it is and the metadata records who
    sent it back, when and why. Raises `ReviewError` (nothing to review, another run's report,
    no name or no commentary)."""
    if not review.by.strip():
        raise ReviewError("a review needs the reviewer's name (--by)")
    if not review.notes.strip():
        raise ReviewError("a review needs a commentary (--notes FILE, markdown)")
    report_dir = settings.report_dir
    meta = current_draft(settings, run_id)
    entry = review.as_dict()
    meta = meta | {"history": [*(meta.get("history") or []), entry]}
    if review.decision == "sent back":
        meta |= {"status": "sent back", "review": entry}
        with staged_writes() as stage:
            stage(report_dir / METADATA_NAME, lambda tmp: tmp.write_bytes(_dump(meta)))
        log.info("report review: run %s sent back by %s", meta["run_id"], review.by)
        return ReviewResult(
            "sent back", report_dir / METADATA_NAME, meta["model_version"], meta["run_id"], review
        )

    pdf_path, html_path = report_dir / REVIEWED_PDF, report_dir / REVIEWED_HTML
    pdf, html = render_reviewed(report_dir, template_review(meta, review))
    meta |= {
        "status": "reviewed",
        "review": entry,
        "reviewed": {
            "pdf": str(pdf_path),
            "html": str(html_path),
            "pages": pdf.pages,
            "sha256": sha256_bytes(pdf.data),
        },
    }
    # One checkpoint: the reviewed files and the metadata that names them, together.
    with staged_writes() as stage:
        stage(html_path, lambda tmp: tmp.write_bytes(html.encode("utf-8")))
        stage(pdf_path, lambda tmp: tmp.write_bytes(pdf.data))
        stage(report_dir / METADATA_NAME, lambda tmp: tmp.write_bytes(_dump(meta)))
    log.info(
        "report review: run %s (model %s) reviewed by %s -> %s",
        meta["run_id"],
        meta["model_version"],
        review.by,
        pdf_path,
    )
    return ReviewResult(
        "reviewed",
        report_dir / METADATA_NAME,
        meta["model_version"],
        meta["run_id"],
        review,
        pdf_path,
        html_path,
    )


def render_reviewed(report_dir: Path, review: dict[str, str]) -> tuple[Any, str]:
    """The reviewed PDF (in memory) and HTML, from the draft's context and figures."""
    from volpred.report import figures as report_figures
    from volpred.report.generate import FIGURES_DIR
    from volpred.report.render import render_html, render_pdf

    context = json.loads((report_dir / CONTEXT_NAME).read_text(encoding="utf-8"))
    context["review"] = review
    names = list(context["figures"])
    ext = report_figures.FORMAT
    missing = [n for n in names if not (report_dir / FIGURES_DIR / f"{n}.{ext}").is_file()]
    if missing:
        raise ReviewError(
            f"the draft's figures {', '.join(missing)} are missing from {report_dir / FIGURES_DIR}:"
            " run `volpred report` again and review the new draft"
        )
    with tempfile.TemporaryDirectory(prefix="volpred-review-") as staging:
        (Path(staging) / FIGURES_DIR).mkdir()
        for name in names:
            png = (report_dir / FIGURES_DIR / f"{name}.{ext}").read_bytes()
            jpeg = report_figures.pdf_image(png)
            (Path(staging) / FIGURES_DIR / f"{name}.jpg").write_bytes(jpeg)
        pdf = render_pdf(
            render_html(context, {n: f"{FIGURES_DIR}/{n}.jpg" for n in names}),
            base_url=Path(staging),
        )
    html = render_html(context, {n: f"{FIGURES_DIR}/{n}.{ext}" for n in names})
    return pdf, html
