"""The figures of `/plot`, rendered as plotly JSON, standalone HTML, PNG or SVG.

The charts are imported on the first figure asked and the image exporter (a headless browser)
on the first PNG or SVG, not when a worker starts.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from volpred.config import Settings
from volpred.serving.api.errors import HttpError
from volpred.serving.api.snapshot import Snapshot

log = logging.getLogger("volpred.serving.api")

MEDIA_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "png": "image/png",
    "svg": "image/svg+xml",
}
#: The `content` of a figure answer in the OpenAPI description.
CONTENT: dict[str, Any] = {
    "application/json": {"schema": {"type": "object", "description": "plotly figure spec"}},
    "text/html": {"schema": {"type": "string"}},
    "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
    "image/svg+xml": {"schema": {"type": "string"}},
}


def render(
    current: Snapshot,
    settings: Settings,
    kind: str,
    fmt: str,
    start: date | None,
    end: date | None,
) -> tuple[bytes, str]:
    """(body, media type) of figure `kind` over `start` .. `end`."""
    from volpred.report import charts

    if kind == "history":
        fig = charts.history(current.table, start=start, end=end)
    elif kind == "forecast":
        latest = current.forecaster.card.latest_forecast
        fig = charts.forecast(current.oos, latest=latest, start=start, end=end)
    else:
        fig = charts.residuals(current.oos, start=start, end=end)
    if fmt == "json":
        return fig.to_json().encode(), MEDIA_TYPES[fmt]
    if fmt == "html":
        html = fig.to_html(include_plotlyjs=True, full_html=True)
        return html.encode(), MEDIA_TYPES[fmt]
    from volpred.report import chart_export

    try:
        exporter = chart_export.exporter(settings)
        # Start and render, retried once, must end well inside gunicorn's worker timeout:
        # a hung browser then costs a 503, not a killed worker.
        exporter.start_timeout = exporter.render_timeout = settings.api_timeout / 5
        spec = chart_export.ImageSpec(fig, fmt, 900, 500, 1.0)
        return exporter.to_image(spec), MEDIA_TYPES[fmt]
    except (chart_export.BrowserMissingError, chart_export.FigureExportError) as exc:
        log.error("api: figure export failed: %s", exc)
        raise HttpError(
            503, "figure export unavailable", f"{fmt} export failed; json and html work"
        ) from None
