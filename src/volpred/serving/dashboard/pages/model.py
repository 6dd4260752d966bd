"""Model page: the material for an analyst's review of the served model. Walk-forward
out-of-sample predictions against what was realised, metrics against every benchmark overall
and by year, residuals, and band coverage (from the API's /model and /oos)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from volpred.report import charts
from volpred.serving.dashboard import data, figures, tables, ui

TARGETS = {"vol": "Volatility", "ret": "Return"}
LOWER_IS_BETTER = {"rmse", "mae", "qlike"}


def overview(card: dict[str, Any]) -> None:
    choice = ((card.get("metrics") or {}).get("final_model") or {}).get("choice") or {}
    meta = card.get("data") or {}
    st.markdown(
        f"Model **{card.get('version')}**, horizon {card.get('horizon')} trading days, trained "
        f"on {meta.get('source')} data {meta.get('first_date')} to {meta.get('last_date')} "
        f"({meta.get('rows')} rows{', synthetic' if meta.get('synthetic') else ''}). "
        f"Chosen: vol **{choice.get('vol', '?')}**, return **{choice.get('ret', '?')}**."
    )
    weights = choice.get("vol_ensemble")
    if weights:
        st.caption("Vol ensemble weights: " + ", ".join(f"{k} {v:.3f}" for k, v in weights.items()))


def summary(card: dict[str, Any]) -> None:
    st.subheader("Out-of-sample metrics against the benchmarks")
    period = st.radio(
        "Period",
        ["overall", "from_2010"],
        horizontal=True,
        key="model_period",
        on_change=ui.input_changed("period", "model_period"),
    )
    st.caption(tables.period_span(card, period))
    for target, label in TARGETS.items():
        table = tables.summary_table(card, period, target)
        if table.is_empty():
            continue
        st.markdown(f"**{label}** (oos_r2:X = out-of-sample R² against benchmark X)")
        st.dataframe(table, hide_index=True, key=f"summary_{target}")


def by_year(card: dict[str, Any]) -> None:
    st.subheader("Metrics by year, every model")
    left, right = st.columns(2)
    with left:
        target = st.selectbox(
            "Target",
            list(TARGETS),
            format_func=TARGETS.get,
            key="model_target",
            on_change=ui.input_changed("target", "model_target"),
        )
    names = tables.metric_names(card, target) or ["rmse"]
    with right:
        default = "qlike" if target == "vol" else "rmse"
        default = default if default in names else names[0]
        st.session_state.setdefault(f"model_metric_{target}", default)
        metric = st.selectbox(
            "Metric",
            names,
            key=f"model_metric_{target}",
            on_change=ui.input_changed("metric", f"model_metric_{target}"),
        )
    st.plotly_chart(figures.metrics_by_year(card, target, metric), key="metrics_by_year")
    note = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
    st.caption(f"{metric}: {note}. The bold black line is the selected model.")
    with st.expander("The same as a table"):
        st.dataframe(tables.metric_table(card, target, metric), hide_index=True)


def evidence(card: dict[str, Any]) -> None:
    table = tables.evidence_table(card)
    if table.is_empty():
        return
    ev = card["metrics"]["evidence"]
    st.subheader("What each predictor group adds out of sample")
    st.dataframe(table, hide_index=True, key="evidence")
    st.caption(
        f"HAR-X ({ev['variant']}) with every group against HAR-X without it, {ev['n']} "
        "out-of-sample days; a negative change means the group helps. p: Diebold-Mariano. "
        "chosen_share: blocks whose selected HAR-X had the group; selected: the served model's."
    )


ui.page_view("model")
ui.persist("model_range", "model_period", "model_target", "model_metric_vol", "model_metric_ret")
cfg = data.config()
st.title("Model review")

card = ui.attempt("The model card", data.model_card, cfg)
if card is not None:
    overview(card)

oos = ui.attempt("The walk-forward predictions", data.oos, cfg)
latest = ui.attempt(
    "The latest forecast",
    data.predict,
    cfg,
    "latest",
    version=(st.session_state.get("volpred_ready") or {}).get("model_version"),
    reason="model_page",
)
if oos is not None and not oos.is_empty():
    st.subheader("Walk-forward forecasts against what was realised")
    scored = oos.filter(pl.col("evaluated")) if "evaluated" in oos.columns else oos
    first, last = (scored if not scored.is_empty() else oos)["date"].min(), oos["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    st.session_state.setdefault("model_range", (first, last))
    start, end = st.slider(
        "Forecast dates",
        min_value=first,
        max_value=last,
        format="YYYY-MM-DD",
        key="model_range",
        on_change=ui.input_changed("forecast_dates", "model_range"),
    )
    marker = latest | {"date": latest.get("as_of")} if latest else None
    st.plotly_chart(charts.forecast(oos, latest=marker, start=start, end=end), key="oos")

if card is not None:
    summary(card)
    by_year(card)
    evidence(card)

if oos is not None and not oos.is_empty():
    st.subheader("Residuals")
    st.plotly_chart(charts.residuals(oos, start=start, end=end), key="residuals")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.predicted_vs_realized(oos), key="pred_vs_real")
    with right:
        st.plotly_chart(charts.residual_acf(oos), key="acf")
    st.subheader("Interval coverage")
    if card is not None:
        overall = ((card.get("metrics") or {}).get("overall") or {}).get("intervals") or {}
        cols = st.columns(4)
        for col, (key, label) in zip(
            cols,
            [
                ("vol_coverage", "Vol band coverage"),
                ("ret_coverage", "Return band coverage"),
                ("vol_mean_width", "Vol band mean width"),
                ("ret_mean_width", "Return band mean width"),
            ],
            strict=True,
        ):
            value = overall.get(key)
            col.metric(label, f"{100 * value:.1f}%" if value is not None else "n/a")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.coverage_by_year(oos), key="coverage_by_year")
    with right:
        st.plotly_chart(figures.rolling_coverage(oos), key="rolling_coverage")
