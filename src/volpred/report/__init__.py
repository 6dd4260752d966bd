"""Figures and the PDF analysis report.

`charts` (plotly figure builders shared by the API's /plot, the dashboard and the report),
`chart_export` (kaleido PNG/SVG with one Chromium per process), `numbers` (how numbers print).
`generate_report(settings)` writes `report_dir/analysis_report.pdf` and `.html` from the served
model's card, its walk-forward predictions and the cleaned data: `inputs` (read and check),
`context` (every number, formatted), `figures` (which charts), `render` (Jinja2 + WeasyPrint),
`generate` (the entry point). Every report is a draft until `review` signs it off
(`review_report`: the reviewed copy with the analyst's commentary, `analysis_report.json`).
May import `volpred.model` (card, store), `volpred.runtime` and `volpred.config`."""

from volpred.report.generate import ReportResult, ReportTimings, generate_report
from volpred.report.inputs import ReportError

__all__ = ["ReportError", "ReportResult", "ReportTimings", "generate_report"]
