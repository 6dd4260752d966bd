"""Plotly figure builders shared by the API (`/plot`), the dashboard and the PDF report.

Pure functions: polars frames (the cleaned table, the walk-forward predictions) and a model
card (or a forecast record) in, `go.Figure` out. No file reading and no image export here (that is
`figure_export`), so every consumer draws the same picture from the same data.

Figures are served as JSON to browsers and exported as SVG for the report, so they stay light:
long daily series are thinned to at most `MAX_POINTS` points per trace, keeping each bucket's
extreme so spikes (crashes, vol bursts) survive, and plain `go.Scatter` is used (WebGL traces
would be rasterised in an SVG export). Units: vols and returns are shown in percent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from volpred.model.card import LatestForecast, ModelCard

#: Most points per trace: a 36-year daily history (~9,000 rows) keeps about one in six.
MAX_POINTS = 1500

COLORS: dict[str, str] = {
    "spx": "#1f3b73",
    "drawdown": "#c0392b",
    "vix": "#e67e22",
    "rv": "#1f3b73",
    "range": "#7f8c8d",
    "regime": "rgba(192, 57, 43, 0.12)",
    "predicted": "#1f77b4",
    "band": "rgba(31, 119, 180, 0.18)",
    "realized": "#2c3e50",
    "latest": "#d62728",
    "vrp": "#16a085",
    "benchmark": "#95a5a6",
    "bad": "#c0392b",
    "good": "#27ae60",
}

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": "DejaVu Sans, Liberation Sans, Arial, sans-serif", "size": 12},
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=[COLORS["predicted"], COLORS["vix"], COLORS["vrp"], COLORS["drawdown"]],
        xaxis={"showgrid": True, "gridcolor": "#e5e8ec", "linecolor": "#888", "ticks": "outside"},
        yaxis={"showgrid": True, "gridcolor": "#e5e8ec", "linecolor": "#888", "zeroline": False},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        hovermode="x unified",
    )
)


# ----------------------------------------------------------------------------- helpers


def filter_dates(
    frame: pl.DataFrame, start: date | None = None, end: date | None = None, column: str = "date"
) -> pl.DataFrame:
    """Rows with `start <= date <= end` (either bound optional), sorted by date. A range
    outside the data gives an empty frame: validating ranges is the caller's job."""
    out = frame
    if start is not None:
        out = out.filter(pl.col(column) >= start)
    if end is not None:
        out = out.filter(pl.col(column) <= end)
    return out.sort(column)


def thin(
    frame: pl.DataFrame, max_points: int = MAX_POINTS, peaks: Sequence[str] = ()
) -> pl.DataFrame:
    """At most about `max_points` rows, in date order: the first row of each bucket of rows,
    plus the row with each `peaks` column's largest absolute value in the bucket (so a thinned
    line still reaches every spike), plus the last row."""
    n = frame.height
    if n <= max_points:
        return frame
    k = math.ceil(n * (1 + len(peaks)) / max_points)
    keep = (pl.col("_i") % k == 0) | (pl.col("_i") == n - 1)
    for name in peaks:
        strength = pl.col(name).abs().fill_null(-1.0).fill_nan(-1.0)
        keep = keep | (pl.col("_i") == pl.col("_i").sort_by(strength).last().over("_b"))
    return (
        frame.with_columns(pl.int_range(pl.len()).alias("_i"))
        .with_columns((pl.col("_i") // k).alias("_b"))
        .filter(keep)
        .drop("_i", "_b")
    )


def _x(frame: pl.DataFrame, column: str = "date") -> list[Any]:
    return frame[column].to_list()


def _pct(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column in percent as float64 (nulls -> NaN, which plotly draws as gaps)."""
    return frame[column].cast(pl.Float64).fill_null(float("nan")).to_numpy() * 100.0


def _empty_note(fig: go.Figure, frame: pl.DataFrame) -> go.Figure:
    if frame.is_empty():
        fig.add_annotation(
            text="no data in the selected range",
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 14, "color": "#888"},
        )
    return fig


def _runs(dates: list[Any], flags: Sequence[bool], join_gap: int = 5) -> list[tuple[Any, Any]]:
    """(first, last) dates of consecutive flagged rows; runs less than `join_gap` rows apart
    merge, so a choppy regime is one shaded band rather than dozens of slivers."""
    runs: list[list[int]] = []
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if runs and i - runs[-1][1] <= join_gap:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [(dates[a], dates[b]) for a, b in runs]


def _finish(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(template=TEMPLATE, title={"text": title, "x": 0.01}, height=height)
    return fig


# ----------------------------------------------------------------------------- market


def history(
    table: pl.DataFrame,
    *,
    start: date | None = None,
    end: date | None = None,
    vix_regime: float = 30.0,
) -> go.Figure:
    """SPX close (log axis), its drawdown from the running peak, and the VIX against realized
    vol (21-day close-to-close and Parkinson range), days with VIX above `vix_regime` shaded."""
    data = filter_dates(table, start, end)
    full = data.select("date", "vix")
    data = thin(data, peaks=["drawdown", "vix", "rv21"])
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        row_heights=[0.45, 0.2, 0.35],
    )
    x = _x(data)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["spx_close"].to_numpy(),
            name="SPX close",
            line={"color": COLORS["spx"], "width": 1.3},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_pct(data, "drawdown"),
            name="Drawdown",
            fill="tozeroy",
            line={"color": COLORS["drawdown"], "width": 1},
            fillcolor="rgba(192, 57, 43, 0.25)",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=data["vix"].to_numpy(), name="VIX", line={"color": COLORS["vix"], "width": 1.2}
        ),
        row=3,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_pct(data, "rv21"),
            name="Realized vol 21d",
            line={"color": COLORS["rv"], "width": 1},
        ),
        row=3,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_pct(data, "parkinson21"),
            name="Parkinson vol 21d",
            line={"color": COLORS["range"], "width": 1, "dash": "dot"},
        ),
        row=3,
        col=1,
    )
    flags = (full["vix"].fill_null(0.0) > vix_regime).to_list()
    # One paper-high rectangle per run covers all three panels; add_vrect per panel is ~100x
    # slower (plotly validates every shape against every subplot).
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": first,
            "x1": last,
            "y0": 0,
            "y1": 1,
            "fillcolor": COLORS["regime"],
            "line": {"width": 0},
            "layer": "below",
        }
        for first, last in _runs(_x(full), flags)
    ]
    fig.update_layout(shapes=shapes)
    fig.update_yaxes(type="log", title_text="SPX (log scale)", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown (%)", row=2, col=1)
    fig.update_yaxes(title_text="Vol points (%)", row=3, col=1)
    fig.update_xaxes(title_text="Date", row=3, col=1)
    title = f"S&P 500, drawdown, VIX and realized vol (shaded: VIX > {vix_regime:g})"
    return _empty_note(_finish(fig, title, 640), data)


def vrp(table: pl.DataFrame, *, start: date | None = None, end: date | None = None) -> go.Figure:
    """The variance risk premium, implied monthly variance minus trailing realized, in
    monthly variance percent-squared units shown as a share (x100), with its 1-year mean."""
    data = filter_dates(table, start, end).with_columns(
        (pl.col("vrp") * 100).alias("_vrp"),
        (pl.col("vrp") * 100).rolling_mean(252, min_samples=126).alias("_vrp_mean"),
    )
    data = thin(data, peaks=["_vrp"])
    fig = go.Figure()
    x = _x(data)
    fig.add_trace(
        go.Scatter(
            x=x, y=data["_vrp"].to_numpy(), name="VRP", line={"color": COLORS["vrp"], "width": 0.9}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["_vrp_mean"].to_numpy(),
            name="1-year mean",
            line={"color": COLORS["realized"], "width": 1.8},
        )
    )
    fig.add_hline(y=0, line={"color": "#888", "width": 1})
    fig.update_yaxes(title_text="VRP (monthly variance, %)")
    fig.update_xaxes(title_text="Date")
    return _empty_note(
        _finish(fig, "Variance risk premium: (VIX/100)²/12 − trailing 21-day variance", 360), data
    )


# ----------------------------------------------------------------------------- model


def _evaluated(oos: pl.DataFrame, start: date | None, end: date | None) -> pl.DataFrame:
    data = filter_dates(oos, start, end)
    if "evaluated" in data.columns:
        data = data.filter(pl.col("evaluated"))
    return data


def forecast(
    oos: pl.DataFrame,
    *,
    latest: LatestForecast | Mapping[str, Any] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> go.Figure:
    """Walk-forward predicted vol with its band against the realized forward vol, and the
    same for the 21-day return; `latest` (a card's `latest_forecast`, or a forecast record with
    the same keys, as the API answers) is marked with its band."""
    if isinstance(latest, LatestForecast):
        latest = latest.model_dump()
    data = thin(_evaluated(oos, start, end), peaks=["target_vol", "target_ret"])
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
    )
    x = _x(data)
    for row, key, label in ((1, "vol", "vol"), (2, "ret", "return")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_pct(data, f"{key}_hi"),
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_pct(data, f"{key}_lo"),
                line={"width": 0},
                fill="tonexty",
                fillcolor=COLORS["band"],
                name="Prediction band",
                showlegend=row == 1,
                legendgroup="band",
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_pct(data, f"target_{key}"),
                name="Realized",
                line={"color": COLORS["realized"], "width": 0.9},
                showlegend=row == 1,
                legendgroup="realized",
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_pct(data, f"{key}_selected"),
                name="Predicted",
                line={"color": COLORS["predicted"], "width": 1.3},
                showlegend=row == 1,
                legendgroup="predicted",
            ),
            row=row,
            col=1,
        )
        if latest is not None and latest.get(key) is not None:
            value = float(latest[key]) * 100
            lo = float(latest.get(f"{key}_lo", latest[key])) * 100
            hi = float(latest.get(f"{key}_hi", latest[key])) * 100
            fig.add_trace(
                go.Scatter(
                    x=[latest["date"]],
                    y=[value],
                    mode="markers",
                    marker={"color": COLORS["latest"], "size": 9, "symbol": "diamond"},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [hi - value],
                        "arrayminus": [value - lo],
                    },
                    name=f"Latest forecast ({latest['date']})",
                    showlegend=row == 1,
                    legendgroup="latest",
                    hovertemplate=f"{label}: %{{y:.2f}}% [{lo:.2f}, {hi:.2f}]<extra></extra>",
                ),
                row=row,
                col=1,
            )
    fig.update_yaxes(title_text="21-day vol (%, annualised)", row=1, col=1)
    fig.update_yaxes(title_text="21-day log return (%)", row=2, col=1)
    fig.update_xaxes(title_text="Forecast date", row=2, col=1)
    return _empty_note(_finish(fig, "Walk-forward forecasts against what was realized", 560), data)


def vol_residuals(oos: pl.DataFrame) -> pl.DataFrame:
    """date and `resid` = log(realized / predicted vol), for rows with a realized target."""
    return oos.filter(
        pl.col("target_vol").is_not_null()
        & (pl.col("target_vol") > 0)
        & (pl.col("vol_selected") > 0)
    ).select("date", (pl.col("target_vol") / pl.col("vol_selected")).log().alias("resid"))


def residuals(
    oos: pl.DataFrame, *, start: date | None = None, end: date | None = None
) -> go.Figure:
    """Vol residuals log(realized / predicted) over time, and their histogram: a good model's
    residuals centre on 0 with no long runs of one sign."""
    res = vol_residuals(_evaluated(oos, start, end))
    values = res["resid"].to_numpy()
    fig = make_subplots(rows=1, cols=2, column_widths=[0.68, 0.32], horizontal_spacing=0.08)
    thinned = thin(res, peaks=["resid"])
    fig.add_trace(
        go.Scatter(
            x=_x(thinned),
            y=thinned["resid"].to_numpy(),
            name="log(realized / predicted)",
            line={"color": COLORS["predicted"], "width": 0.8},
        ),
        row=1,
        col=1,
    )
    fig.add_hline(y=0, line={"color": "#888", "width": 1}, row=1, col=1)
    fig.add_trace(
        go.Histogram(
            x=values,
            nbinsx=40,
            name="Histogram",
            marker={"color": COLORS["predicted"], "line": {"color": "white", "width": 0.5}},
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(title_text="log(realized / predicted vol)", row=1, col=1)
    fig.update_xaxes(title_text="Forecast date", row=1, col=1)
    fig.update_xaxes(title_text="log(realized / predicted vol)", row=1, col=2)
    fig.update_yaxes(title_text="Count", row=1, col=2)
    return _empty_note(_finish(fig, "Vol forecast residuals", 360), res)


def autocorrelation(values: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..max_lag (NaNs dropped; empty when too short)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    max_lag = min(max_lag, len(x) - 2)
    if max_lag < 1:
        return np.empty(0)
    x = x - x.mean()
    denom = float(np.dot(x, x)) or 1.0
    return np.array([float(np.dot(x[:-k], x[k:])) / denom for k in range(1, max_lag + 1)])


def residual_acf(oos: pl.DataFrame, *, max_lag: int = 63, horizon: int = 21) -> go.Figure:
    """Autocorrelation of the vol residuals. Overlapping 21-day targets make lags below the
    horizon correlated by construction; what matters is the decay after it."""
    values = vol_residuals(_evaluated(oos, None, None))["resid"].to_numpy()
    acf = autocorrelation(values, max_lag)
    lags = np.arange(1, len(acf) + 1)
    fig = go.Figure(go.Bar(x=lags, y=acf, marker={"color": COLORS["predicted"]}, name="ACF"))
    if len(values) > 0:
        bound = 1.96 / math.sqrt(len(values))
        for y in (bound, -bound):
            fig.add_hline(y=y, line={"color": COLORS["bad"], "width": 1, "dash": "dash"})
    fig.add_vline(x=horizon + 0.5, line={"color": "#888", "width": 1, "dash": "dot"})
    fig.update_xaxes(title_text="Lag (trading days; dotted line: forecast horizon)")
    fig.update_yaxes(title_text="Autocorrelation")
    return _finish(fig, "Autocorrelation of vol residuals", 320)


def predicted_vs_realized(oos: pl.DataFrame, *, max_points: int = 2500) -> go.Figure:
    """Predicted against realized 21-day vol, with the 45° line a perfect forecast lies on."""
    data = _evaluated(oos, None, None).filter(pl.col("target_vol").is_not_null())
    if data.height > max_points:
        data = data.gather_every(math.ceil(data.height / max_points))
    pred, real = _pct(data, "vol_selected"), _pct(data, "target_vol")
    fig = go.Figure(
        go.Scatter(
            x=pred,
            y=real,
            mode="markers",
            marker={"color": COLORS["predicted"], "size": 3, "opacity": 0.45},
            name="Forecast days",
        )
    )
    if len(pred):
        top = float(np.nanmax(np.r_[pred, real]))
        fig.add_trace(
            go.Scatter(
                x=[0, top],
                y=[0, top],
                mode="lines",
                line={"color": "#888", "dash": "dash"},
                name="Perfect",
            )
        )
    fig.update_xaxes(title_text="Predicted 21-day vol (%)")
    fig.update_yaxes(title_text="Realized 21-day vol (%)")
    return _finish(fig, "Predicted against realized vol", 380)


def coverage_by_year(oos: pl.DataFrame, *, level: float = 0.8) -> go.Figure:
    """Share of realized values inside the prediction band per year, for vol and return,
    against the nominal `level`."""
    data = _evaluated(oos, None, None).filter(pl.col("target_vol").is_not_null())
    yearly = (
        data.group_by(pl.col("date").dt.year().alias("year"))
        .agg(
            pl.col("target_vol").is_between(pl.col("vol_lo"), pl.col("vol_hi")).mean().alias("vol"),
            pl.col("target_ret").is_between(pl.col("ret_lo"), pl.col("ret_hi")).mean().alias("ret"),
        )
        .sort("year")
    )
    years = [str(y) for y in yearly["year"].to_list()]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=years, y=_pct(yearly, "vol"), name="Vol", marker={"color": COLORS["predicted"]})
    )
    fig.add_trace(
        go.Bar(x=years, y=_pct(yearly, "ret"), name="Return", marker={"color": COLORS["vrp"]})
    )
    fig.add_hline(
        y=level * 100,
        line={"color": COLORS["bad"], "dash": "dash"},
        annotation_text=f"nominal {level:.0%}",
        annotation_position="top left",
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Year", type="category")
    fig.update_yaxes(title_text="Coverage (%)", range=[0, 100])
    return _finish(fig, "Prediction band coverage by year", 340)


def metrics_by_year(card: ModelCard, *, metric: str = "qlike", benchmark: str = "har") -> go.Figure:
    """The selected vol model's `metric` per year against `benchmark`'s, from a model card's
    `metrics.by_year` (lower is better for qlike and rmse)."""
    by_year = card.metrics.by_year
    years = sorted(by_year)
    fig = go.Figure()
    for name, color in (("selected", COLORS["predicted"]), (benchmark, COLORS["benchmark"])):
        values = [by_year[y].scores("vol", name).get(metric) for y in years]
        label = "Selected model" if name == "selected" else name.upper()
        fig.add_trace(
            go.Bar(
                x=years,
                y=[np.nan if v is None else v for v in values],
                name=label,
                marker={"color": color},
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Year", type="category")
    fig.update_yaxes(title_text=f"Vol {metric.upper()} (lower is better)")
    return _finish(
        fig, f"Vol {metric.upper()} by year: selected model against {benchmark.upper()}", 340
    )
