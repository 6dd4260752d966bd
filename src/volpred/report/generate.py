"""generate_report: the served model's analysis report as `analysis_report.pdf` and `.html`.

Order of work, chosen for speed on 2 cores: Chromium starts (~3 s, its own processes) in a
background thread while the figures and tables are built; then the figures are exported with
that one browser while WeasyPrint imports (~2 s of CPU) and each PNG becomes the PDF's JPEG on
the other core (importing during Chromium's start instead made both slower: 9.2 s against
7.8 s cold); then the PDF is laid out in memory. Files are written only after everything
succeeded, each atomically: figures first, then the HTML, then the PDF, so a failure at any
step leaves the previous report as it was.
"""

from __future__ import annotations

import contextvars
import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from volpred.config import Settings
from volpred.report import chart_export, review
from volpred.report import figures as report_figures
from volpred.report.context import build_context
from volpred.report.inputs import ReportError, load_inputs
from volpred.report.render import check_templates, import_weasyprint, render_html, render_pdf
from volpred.runtime.storage import staged_writes

log = logging.getLogger("volpred.report")

PDF_NAME = "analysis_report.pdf"
HTML_NAME = "analysis_report.html"
FIGURES_DIR = "figures"


@dataclass(frozen=True)
class ReportTimings:
    """Seconds. `figures_s`: build the figures, wait for the browser, export them (and make
    the PDF's JPEGs meanwhile); `pdf_s`: render the HTML and lay out the PDF; `total_s`: the
    whole call."""

    figures_s: float
    pdf_s: float
    total_s: float
    browser_wait_s: float = 0.0
    export_s: float = 0.0
    write_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ReportResult:
    pdf_path: Path
    html_path: Path
    figure_paths: dict[str, Path]
    table_names: list[str]
    pages: int
    timings: ReportTimings
    model_version: str
    run_id: str
    synthetic: bool
    warnings: list[str] = field(default_factory=list)
    metadata_path: Path | None = None  # analysis_report.json: draft or reviewed, by whom

    def as_dict(self) -> dict[str, object]:
        return {
            "pdf_path": str(self.pdf_path),
            "html_path": str(self.html_path),
            "figures": {k: str(v) for k, v in self.figure_paths.items()},
            "tables": self.table_names,
            "pages": self.pages,
            "timings": self.timings.as_dict(),
            "model_version": self.model_version,
            "run_id": self.run_id,
            "synthetic": self.synthetic,
            "metadata": str(self.metadata_path) if self.metadata_path else None,
        }


def generate_report(settings: Settings, *, run_id: str | None = None) -> ReportResult:
    """Write `report_dir/analysis_report.{pdf,html}` and `report_dir/figures/*.png` for the
    served model. Raises `ReportError` (missing inputs: names what to run first) or
    `chart_export.BrowserMissingError` (names what to install)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    run_id = run_id or f"manual-{now.strftime('%Y%m%dT%H%M%SZ')}"
    report_dir = settings.report_dir
    log.info("generate_report: start (run %s) -> %s", run_id, report_dir)

    inputs = load_inputs(settings)  # these checks before any work: fail fast, never hang
    check_templates()
    browser = chart_export.find_browser(settings)
    exporter = chart_export.exporter(browser)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="volpred-report") as pool:
        # The browser's start logs from the pool's thread: with the caller's context (the
        # flow run's, under Prefect) its lines join the run's log instead of warning that
        # they have no flow run to go to.
        browser_ready: Future[None] = pool.submit(contextvars.copy_context().run, exporter.start)
        t_fig = time.perf_counter()
        built = report_figures.build_figures(inputs, settings.interval_level)
        figure_meta = {
            d.name: {"caption": d.caption, "section": d.section, "name": d.name} for d, _ in built
        }
        context, tables = build_context(
            inputs,
            run_id=run_id,
            generated_at=now,
            default_level=settings.interval_level,
            figures=figure_meta,
        )
        t_wait = time.perf_counter()
        browser_ready.result()
        # WeasyPrint imports (~2 s of CPU) while Chromium draws on the other core: during
        # Chromium's start the two would compete for the same two cores.
        pool.submit(import_weasyprint)
        t_export = time.perf_counter()
        images, jpeg_jobs = [], []
        for _, fig in built:
            images.append(exporter.to_image(report_figures.image_spec(fig)))
            # The PDF's JPEG is made while the browser draws the next figure (Pillow releases
            # the GIL, and this thread only waits for Chromium).
            jpeg_jobs.append(pool.submit(report_figures.pdf_image, images[-1]))
        jpegs = [job.result() for job in jpeg_jobs]
        figures_s = time.perf_counter() - t_fig
        export_s = time.perf_counter() - t_export
        browser_wait_s = t_export - t_wait

    t_pdf = time.perf_counter()
    names = [d.name for d, _ in built]
    ext = report_figures.FORMAT
    # The PDF is laid out from a private folder of JPEGs: nothing in report_dir changes yet.
    with tempfile.TemporaryDirectory(prefix="volpred-report-") as staging:
        (Path(staging) / FIGURES_DIR).mkdir()
        for name, data in zip(names, jpegs, strict=True):
            (Path(staging) / FIGURES_DIR / f"{name}.jpg").write_bytes(data)
        pdf = render_pdf(
            render_html(context, {n: f"{FIGURES_DIR}/{n}.jpg" for n in names}),
            base_url=Path(staging),
        )
    html = render_html(context, {n: f"{FIGURES_DIR}/{n}.{ext}" for n in names})
    pdf_s = time.perf_counter() - t_pdf

    t_write = time.perf_counter()
    figure_paths = {name: report_dir / FIGURES_DIR / f"{name}.{ext}" for name in names}
    html_path, pdf_path = report_dir / HTML_NAME, report_dir / PDF_NAME
    (report_dir / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    previous = review.read_metadata(report_dir)
    # One checkpoint: the figures, the HTML and the PDF are replaced together or not at all.
    with staged_writes() as stage:
        for name, data in zip(names, images, strict=True):
            stage(figure_paths[name], _bytes(data))
        stage(html_path, _bytes(html.encode("utf-8")))
        stage(pdf_path, _bytes(pdf.data))
        # A draft, with what its review re-renders from (volpred.report.review).
        stage(report_dir / review.CONTEXT_NAME, _bytes(review.context_json(context)))
        draft = review.draft_metadata(
            run_id=run_id,
            model_version=inputs.version,
            generated_at=now,
            synthetic=inputs.synthetic,
            source=str(inputs.card.data.source),
            pdf_path=pdf_path,
            html_path=html_path,
            pages=pdf.pages,
            pdf_sha256=review.sha256_bytes(pdf.data),
        )
        stage(report_dir / review.METADATA_NAME, _bytes(draft))
    review.archive_reviewed(report_dir, previous, run_id)
    for name, path in figure_paths.items():
        log.info("generate_report: figure %s -> %s", name, path)
    write_s = time.perf_counter() - t_write
    for table in tables:
        log.info("generate_report: table %s (%d rows) in %s", table.name, len(table.rows), pdf_path)

    timings = ReportTimings(
        figures_s=figures_s,
        pdf_s=pdf_s,
        total_s=time.perf_counter() - started,
        browser_wait_s=browser_wait_s,
        export_s=export_s,
        write_s=write_s,
    )
    result = ReportResult(
        pdf_path=pdf_path,
        html_path=html_path,
        figure_paths=figure_paths,
        table_names=[t.name for t in tables],
        pages=pdf.pages,
        timings=timings,
        model_version=inputs.version,
        run_id=run_id,
        synthetic=inputs.synthetic,
        warnings=[f.text for f in context["warnings"]],
        metadata_path=report_dir / review.METADATA_NAME,
    )
    log.info(
        "generate_report: end: %s (%d pages), %s; model %s; %s",
        pdf_path,
        pdf.pages,
        html_path,
        inputs.version,
        timings.as_dict(),
    )
    return result


__all__ = ["ReportError", "ReportResult", "ReportTimings", "generate_report"]


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda tmp: tmp.write_bytes(data)
