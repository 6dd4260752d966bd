"""Figures only the dashboard shows; the ones the report shares are in `volpred.report.charts`.

Each builder takes polars frames in the API's column names (or the model card) and returns a
plotly `go.Figure`; none calls the API, so they are tested without one. They use charts.py's
template and thinning so both look alike and stay light in the browser. Volatilities are
plotted in percent, as analysts quote them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl

from volpred.report import charts
from volpred.serving.dashboard import tables

REGIME_FILL = charts.COLORS["regime"]
NOMINAL_COVERAGE = 0.8


def regime_spans(table: pl.DataFrame, threshold: float, merge_days: int = 5) -> list[tuple]:
    """(start, end) date spans where the VIX is above `threshold`; spans fewer than
    `merge_days` rows apart are merged, so a choppy crisis is one band, not dozens."""
    if table.is_empty() or "vix" not in table.columns:
        return []
    flags = (table["vix"].fill_null(0) > threshold).to_list()
    dates = table["date"].to_list()
    spans: list[list[Any]] = []
    last_in = -(10**9)
    for i, on in enumerate(flags):
        if not on:
            continue
        if spans and i - last_in <= merge_days:
            spans[-1][1] = dates[i]
        else:
            spans.append([dates[i], dates[i]])
        last_in = i
    return [(a, b) for a, b in spans]


def shade_regimes(fig: go.Figure, spans: Sequence[tuple], label: str = "") -> go.Figure:
    """Shade `spans` across the plot (one layout shape each, set in one call: fast)."""
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": a,
            "x1": b,
            "y0": 0,
            "y1": 1,
            "fillcolor": REGIME_FILL,
            "line": {"width": 0},
            "layer": "below",
        }
        for a, b in spans
    ]
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes)
    if label and spans:
        fig.add_trace(  # a legend entry for the shading
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 12, "color": REGIME_FILL, "symbol": "square"},
                name=label,
            )
        )
    return fig


def _layout(fig: go.Figure, title: str, yaxis: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        template=charts.TEMPLATE, title={"text": title, "x": 0.01}, yaxis_title=yaxis, height=height
    )
    return fig


def _pct(frame: pl.DataFrame, column: str) -> list[float | None]:
    return (frame[column] * 100).to_list()


def vix_vs_forecast(
    history: pl.DataFrame, oos: pl.DataFrame, latest: Mapping[str, Any] | None = None
) -> go.Figure:
    """The VIX (the market's 30-day implied vol) against the model's 21-day vol forecast, its
    band and the vol that was then realised; the latest forecast as a point."""
    fig = go.Figure()
    oos = charts.thin(oos, peaks=["target_vol"]) if not oos.is_empty() else oos
    history = charts.thin(history, peaks=["vix"]) if not history.is_empty() else history
    if not oos.is_empty():
        x = oos["date"].to_list()
        fig.add_trace(
            go.Scatter(
                x=x, y=_pct(oos, "vol_hi"), line={"width": 0}, showlegend=False, hoverinfo="skip"
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_pct(oos, "vol_lo"),
                fill="tonexty",
                line={"width": 0},
                fillcolor="rgba(31, 119, 180, 0.18)",
                name="80% band",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x, y=_pct(oos, "vol_selected"), name="forecast vol", line={"color": "#1f77b4"}
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_pct(oos, "target_vol"),
                name="realised vol (next 21d)",
                line={"color": "#7f7f7f", "width": 1},
            )
        )
    if not history.is_empty():
        fig.add_trace(
            go.Scatter(
                x=history["date"].to_list(),
                y=history["vix"].to_list(),
                name="VIX",
                line={"color": "#d62728", "width": 1},
            )
        )
    if latest and latest.get("vol") is not None:
        fig.add_trace(
            go.Scatter(
                x=[latest.get("as_of")],
                y=[100 * latest["vol"]],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [100 * (latest["vol_hi"] - latest["vol"])],
                    "arrayminus": [100 * (latest["vol"] - latest["vol_lo"])],
                },
                mode="markers",
                marker={"size": 10, "color": "#1f77b4", "symbol": "diamond"},
                name="latest forecast",
            )
        )
    return _layout(fig, "VIX against forecast volatility", "annualised vol, %")


def realized_vol(table: pl.DataFrame, spans: Sequence[tuple] = ()) -> go.Figure:
    """Close-to-close (RV21) against range-based (Parkinson, Garman-Klass) realised vol."""
    fig = go.Figure()
    table = charts.thin(table, peaks=["rv21"])
    x = table["date"].to_list()
    for column, name in (
        ("rv21", "RV21 close-to-close"),
        ("parkinson21", "Parkinson (high-low)"),
        ("garman_klass21", "Garman-Klass (OHLC)"),
    ):
        if column in table.columns:
            fig.add_trace(go.Scatter(x=x, y=_pct(table, column), name=name, line={"width": 1}))
    shade_regimes(fig, spans)
    return _layout(fig, "Realised volatility, 21 days", "annualised vol, %")


def term_spread(table: pl.DataFrame, spans: Sequence[tuple] = ()) -> go.Figure:
    """The 10y − 2y Treasury spread; below zero is an inverted curve."""
    fig = go.Figure()
    if "term_spread" in table.columns:
        table = charts.thin(table, peaks=["term_spread"])
        fig.add_trace(
            go.Scatter(
                x=table["date"].to_list(),
                y=table["term_spread"].to_list(),
                name="10y − 2y",
                line={"width": 1, "color": "#2ca02c"},
            )
        )
    fig.add_hline(y=0, line={"color": "black", "width": 1})
    shade_regimes(fig, spans)
    return _layout(fig, "Term spread, 10y − 2y", "percentage points")


def metrics_by_year(
    card: Mapping[str, Any], target: str, metric: str, models: Sequence[str] | None = None
) -> go.Figure:
    """One line per model (the selected one bold) of `metric` for `target` per year."""
    table = tables.metric_table(card, target, metric)
    fig = go.Figure()
    if not table.is_empty():
        years = table["year"].to_list()
        for model in models or [c for c in table.columns if c != "year"]:
            if model not in table.columns:
                continue
            selected = model == "selected"
            fig.add_trace(
                go.Scatter(
                    x=years,
                    y=table[model].to_list(),
                    name=model,
                    mode="lines+markers",
                    line={"width": 3 if selected else 1, "color": "black" if selected else None},
                    marker={"size": 6 if selected else 4},
                )
            )
    return _layout(fig, f"{target} {metric} by year", metric, height=400)


def rolling_coverage(oos: pl.DataFrame, window: int = 252) -> go.Figure:
    """Rolling share of days whose realised vol and return fell inside their band."""
    frame = oos.filter(pl.col("target_vol").is_not_null() & pl.col("vol_lo").is_not_null())
    frame = frame.with_columns(
        ((pl.col("target_vol") >= pl.col("vol_lo")) & (pl.col("target_vol") <= pl.col("vol_hi")))
        .cast(pl.Float64)
        .rolling_mean(window, min_samples=window // 2)
        .alias("vol_in"),
        ((pl.col("target_ret") >= pl.col("ret_lo")) & (pl.col("target_ret") <= pl.col("ret_hi")))
        .cast(pl.Float64)
        .rolling_mean(window, min_samples=window // 2)
        .alias("ret_in"),
    )
    frame = charts.thin(frame)
    fig = go.Figure()
    x = frame["date"].to_list()
    fig.add_trace(go.Scatter(x=x, y=_pct(frame, "vol_in"), name="vol band"))
    fig.add_trace(go.Scatter(x=x, y=_pct(frame, "ret_in"), name="return band"))
    fig.add_hline(y=100 * NOMINAL_COVERAGE, line={"dash": "dash", "color": "black"})
    return _layout(fig, f"Rolling coverage ({window} days)", "% inside the band")
