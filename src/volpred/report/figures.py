"""The report's figures: which `volpred.report.charts` builders,
at what size, with what caption, and
how they are exported (PNG, one browser for all) and embedded in the PDF.

PNG, not SVG: WeasyPrint draws these SVGs (thousands of path points) ten times slower than the
same figures as PNG (3 s against 0.3 s), and at 2x scale a PNG prints sharply on A4. Inside the
PDF each figure is a JPEG made from its PNG (quality 92, no chroma subsampling: no visible
difference at 2x): WeasyPrint re-compresses every PNG, alpha channel separately (~1.5 s for the
report), but embeds a JPEG as it is (converting costs ~0.05 s a figure, off the GIL).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from volpred.report import chart_export, charts
from volpred.report.inputs import ReportInputs

WIDTH = 900  # px at scale 1: the A4 text width at ~127 dpi
SCALE = 2.0
FORMAT: chart_export.ImageFormat = "png"
JPEG_QUALITY = 92


@dataclass(frozen=True)
class FigureDef:
    name: str
    section: str  # "market" | "model"
    caption: str
    build: Callable[[ReportInputs, float], go.Figure]
    height: int | None = None  # px at scale 1; None: the figure's own height


def _level(inputs: ReportInputs, default: float) -> float:
    level = inputs.card.metrics.final_model.interval_level
    return float(level or default)


FIGURES: list[FigureDef] = [
    FigureDef(
        "history",
        "market",
        "S&P 500 close (log scale) and drawdown from its running peak; the VIX against 21-day "
        "realized vol (close-to-close and Parkinson range). Shaded: VIX above 30.",
        lambda i, lv: charts.history(i.table),
        height=570,  # with the VRP figure and the facts on one A4 page
    ),
    FigureDef(
        "vrp",
        "market",
        "Variance risk premium: the VIX-implied monthly variance minus trailing realized "
        "variance, with its one-year mean.",
        lambda i, lv: charts.vrp(i.table),
        height=320,
    ),
    FigureDef(
        "forecast",
        "model",
        "Walk-forward forecasts of 21-day vol and return with their prediction bands against "
        "what was realized; the diamond is the latest forecast with its band.",
        lambda i, lv: charts.forecast(i.oos, latest=i.card.latest_forecast),
    ),
    FigureDef(
        "predicted_vs_realized",
        "model",
        "Predicted against realized 21-day vol, one point per forecast day.",
        lambda i, lv: charts.predicted_vs_realized(i.oos, max_points=1500),
    ),
    FigureDef(
        "residuals",
        "model",
        "Vol residuals log(realized / predicted) over time and their distribution.",
        lambda i, lv: charts.residuals(i.oos),
    ),
    FigureDef(
        "residual_acf",
        "model",
        "Autocorrelation of the vol residuals. Consecutive 21-day targets overlap, so lags "
        "below the horizon are correlated by construction.",
        lambda i, lv: charts.residual_acf(i.oos, horizon=i.card.horizon),
    ),
    FigureDef(
        "coverage_by_year",
        "model",
        "Share of realized values inside the prediction bands, by year.",
        lambda i, lv: charts.coverage_by_year(i.oos, level=lv),
    ),
    FigureDef(
        "metrics_by_year",
        "model",
        "Vol QLIKE by year, selected model against HAR (lower is better).",
        lambda i, lv: charts.metrics_by_year(i.card),
    ),
]


def build_figures(inputs: ReportInputs, default_level: float) -> list[tuple[FigureDef, go.Figure]]:
    level = _level(inputs, default_level)
    built = []
    for d in FIGURES:
        fig = d.build(inputs, level)
        if d.height:
            fig.update_layout(height=d.height)
        built.append((d, fig))
    return built


def image_spec(fig: go.Figure) -> chart_export.ImageSpec:
    """The export settings of a report figure: the A4 text width, the figure's own height."""
    return chart_export.ImageSpec(fig, FORMAT, WIDTH, int(fig.layout.height or 500), SCALE)


def pdf_image(png: bytes) -> bytes:
    """The JPEG that goes into the PDF: the PNG flattened on white (plotly's PNGs are RGBA)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.load()
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue()
