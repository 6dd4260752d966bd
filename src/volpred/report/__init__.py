"""The PDF analysis report (issue 7): `generate_report(settings)` writes
`report_dir/analysis_report.pdf` and `.html` from the served model's card, its walk-forward
predictions and the cleaned data. Modules: inputs (read and check), context (every number,
formatted), figures (which plots), render (Jinja2 + WeasyPrint), generate (the entry point)."""

from volpred.report.generate import ReportResult, ReportTimings, generate_report
from volpred.report.inputs import ReportError

__all__ = ["ReportError", "ReportResult", "ReportTimings", "generate_report"]
