"""HTML from the Jinja2 template, PDF from the HTML with WeasyPrint.

The same template makes both: the PDF's copy links the JPEGs of a private staging folder, the
written HTML links the PNGs under `report_dir/figures`. The PDF is produced in memory, so
nothing is written until every step has succeeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

#: `templates/` at the repository root (report.html.j2, report.css).
TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"
TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


def check_templates(templates_dir: Path | None = None) -> None:
    """The template and stylesheet exist (an image built without `templates/` would otherwise
    fail after the figures were exported)."""
    from volpred.report.inputs import ReportError

    folder = templates_dir or TEMPLATES_DIR
    missing = [name for name in (TEMPLATE, STYLESHEET) if not (folder / name).is_file()]
    if missing:
        raise ReportError(
            f"report template files {', '.join(missing)} are missing from {folder} "
            "(the repository's templates/ folder must be installed with the code)"
        )


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    folder = templates_dir or TEMPLATES_DIR
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html", "j2", "xml"], default=True),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(
    context: dict[str, Any],
    figure_sources: dict[str, str],
    templates_dir: Path | None = None,
) -> str:
    """The report's HTML; `figure_sources` maps figure name -> the `src` to use (a path
    relative to the document)."""
    env = environment(templates_dir)
    css = (Path(env.loader.searchpath[0]) / STYLESHEET).read_text(encoding="utf-8")  # type: ignore[union-attr]
    figures = {
        name: fig | {"src": figure_sources[name]} for name, fig in context["figures"].items()
    }
    # `review` (the analyst's sign-off, volpred.report.review): absent means a draft.
    extra = {"figures": figures, "css": css, "review": context.get("review")}
    return env.get_template(TEMPLATE).render(**(context | extra))


def import_weasyprint() -> Any:
    """WeasyPrint (~2 s to import: only when a PDF is made), its per-step INFO lines muted."""
    progress = logging.getLogger("weasyprint.progress")
    if progress.level == logging.NOTSET:
        progress.setLevel(logging.WARNING)
    import weasyprint

    return weasyprint


@dataclass(frozen=True)
class Pdf:
    data: bytes
    pages: int


def render_pdf(html: str, base_url: Path) -> Pdf:
    weasyprint = import_weasyprint()

    document = weasyprint.HTML(string=html, base_url=str(base_url)).render()
    return Pdf(document.write_pdf(), len(document.pages))
