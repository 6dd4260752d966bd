"""Forecast page: the latest forecast with its band, what-if inputs answered by the API's
/predict at once, and the VIX against forecast vol."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import streamlit as st

from volpred.report import charts, numbers
from volpred.report.staleness import stale_warning
from volpred.serving.api.schemas import INPUT_RANGES
from volpred.serving.dashboard import data, figures, ui

#: Decimals the inputs show; a day's value is rounded to them, and an input still equal to its
#: rounded day value counts as unchanged (the API then uses the exact value).
DECIMALS = 2
#: What-if inputs: model input name -> (label, widget key, scale from API units to shown units,
#: step, lowest, highest; in shown units). The bounds are the API's own plausible ranges
#: (`api.models.INPUT_RANGES`), so the form cannot ask for what the API would refuse. An input
#: the day does not have (its feed stopped longer ago than its fill limit) is shown empty, and
#: left out of the request unless the analyst types a value: never a made-up "day's value".
_LABELS = {
    "vix": ("VIX (points)", "wi_vix", 1.0, 0.5),
    "rv21": ("RV21, realised vol over 21 days (%)", "wi_rv21", 100.0, 0.5),
    "term_spread": ("Term spread, 10y - 2y (pp)", "wi_term", 1.0, 0.05),
}
INPUTS: dict[str, tuple[str, str, float, float, float, float]] = {
    name: (*spec, INPUT_RANGES[name][0] * spec[2], INPUT_RANGES[name][1] * spec[2])
    for name, spec in _LABELS.items()
}


def show_forecast(answer: dict[str, Any], prefix: str, base: dict[str, Any] | None = None) -> None:
    """Two metrics (vol, return) with their 80% bands; deltas against `base` when given."""
    vol_col, ret_col = st.columns(2)
    vol_delta = ret_delta = None
    if base is not None:
        vol_delta = f"{100 * (answer['vol'] - base['vol']):+.1f} pts vs that day"
        ret_delta = f"{100 * (answer['ret'] - base['ret']):+.2f} pts vs that day"
    with vol_col:
        st.metric(
            f"{prefix} volatility (annualised, 21 days)",
            numbers.vol(answer["vol"]),
            delta=vol_delta,
            delta_color="inverse",
        )
        st.caption(f"80% band: {numbers.vol_band(answer['vol_lo'], answer['vol_hi'])}")
    with ret_col:
        st.metric(
            f"{prefix} return (21-day log return)", numbers.ret(answer["ret"]), delta=ret_delta
        )
        st.caption(f"80% band: {numbers.ret_band(answer['ret_lo'], answer['ret_hi'])}")


def warn_stale(answer: dict[str, Any]) -> None:
    """The stale-input warning (which input, its last date, which model answered), if any."""
    text = stale_warning(answer)
    if text:
        st.warning(text)


def day_values(table: pl.DataFrame | None, day: date) -> dict[str, float]:
    """The what-if inputs' values (API units) on `day` or the last trading day before it."""
    if table is None or table.is_empty():
        return {}
    rows = table.filter(pl.col("date") <= day).tail(1)
    if rows.is_empty():
        return {}
    row = rows.row(0, named=True)
    return {k: float(row[k]) for k in INPUTS if row.get(k) is not None}


def reset_inputs(table: pl.DataFrame | None) -> None:
    """Put the chosen day's values into the input widgets."""
    values = day_values(table, st.session_state["wi_date"])
    for name, (_, key, scale, *_) in INPUTS.items():
        st.session_state[key] = round(values[name] * scale, DECIMALS) if name in values else None


def date_changed(table: pl.DataFrame | None) -> None:
    """The date's on_change: log it, then show that day's inputs."""
    ui.input_changed("date", "wi_date")()
    reset_inputs(table)


def overrides(values: dict[str, float]) -> dict[str, float]:
    """The inputs the analyst moved away from the day's values, in API units (an empty input
    is not given: the day's own value, or missing when the day has none)."""
    changed = {}
    for name, (_, key, scale, *_) in INPUTS.items():
        if st.session_state.get(key) is None:
            continue
        shown = float(st.session_state[key])
        if name not in values or abs(shown - round(values[name] * scale, DECIMALS)) > 1e-9:
            changed[name] = shown / scale
    return changed


def what_if(cfg: Any, version: str | None, table: pl.DataFrame | None, last: date) -> None:
    st.subheader("What if?")
    st.caption(
        "Pick a day and move its inputs: the model answers from that day's inputs with yours "
        "in place of its own (the API's /predict)."
    )
    first = table["date"].min() if table is not None and not table.is_empty() else None
    if "wi_date" not in st.session_state:
        st.session_state["wi_date"] = last
        reset_inputs(table)
    cols = st.columns(4)
    with cols[0]:
        st.date_input(
            "Date",
            key="wi_date",
            min_value=first,
            max_value=last,
            on_change=date_changed,
            args=(table,),
        )
    for col, (label, key, _, step, low, high) in zip(cols[1:], INPUTS.values(), strict=True):
        with col:
            st.number_input(
                label,
                key=key,
                step=step,
                min_value=low,
                max_value=high,
                format=f"%.{DECIMALS}f",
                placeholder="not known that day",
                on_change=ui.input_changed(label.split(" ")[0].rstrip(","), key),
            )
    # A callback: widget values can only be set before the widgets are drawn in a run.
    st.button("Reset to that day's values", on_click=reset_inputs, args=(table,), key="wi_reset")
    day = st.session_state["wi_date"]
    changed = overrides(day_values(table, day))
    base = ui.attempt(
        "That day's forecast",
        data.predict,
        cfg,
        day.isoformat(),
        version=version,
        reason="what_if_base",
    )
    answer = (
        ui.attempt(
            "The what-if forecast",
            data.predict,
            cfg,
            day.isoformat(),
            changed,
            version=version,
            reason="what_if",
        )
        if changed
        else base
    )
    if answer is not None:
        moved = ", ".join(f"{k} = {v:g}" for k, v in changed.items()) or "none changed"
        st.markdown(f"**What-if forecast** as of {answer.get('as_of') or day} ({moved})")
        show_forecast(answer, "What-if", base if changed else None)
        warn_stale(answer)


def chart(cfg: Any, table: pl.DataFrame | None, latest: dict[str, Any] | None) -> None:
    st.subheader("The VIX against forecast volatility")
    st.session_state.setdefault("fc_window", "3y")
    years = st.segmented_control(
        "Window",
        ["1y", "3y", "10y", "all"],
        key="fc_window",
        on_change=ui.input_changed("window", "fc_window"),
    )
    oos = ui.attempt("The model's past forecasts", data.oos, cfg)
    if table is None and oos is None:
        return
    table = table if table is not None else pl.DataFrame({"date": [], "vix": []})
    oos = oos if oos is not None else pl.DataFrame()
    end = table["date"].max() if not table.is_empty() else None
    start = None
    if end is not None and years not in (None, "all"):
        start = end - timedelta(days=int(365.25 * int(str(years)[:-1])))
    fig = figures.vix_vs_forecast(
        charts.filter_dates(table, start),
        charts.filter_dates(oos, start) if len(oos) else oos,
        latest,
    )
    st.plotly_chart(fig, key="vix_vs_forecast")


ui.page_view("forecast")
ui.persist("wi_date", *(spec[1] for spec in INPUTS.values()), "fc_window")
cfg = data.config()
ready = st.session_state.get("volpred_ready") or {}
version = ready.get("model_version")
st.title("Forecast: the next 21 trading days")

latest = ui.attempt(
    "The latest forecast", data.predict, cfg, "latest", version=version, reason="latest"
)
if latest is not None:
    st.markdown(
        f"As of **{latest.get('as_of')}** (model {latest.get('model_version')}): the S&P 500's "
        f"log return and realised volatility over the next {latest.get('horizon_days')} "
        "trading days."
    )
    show_forecast(latest, "Forecast")
    warn_stale(latest)
    if latest.get("synthetic_data"):
        st.info("This model was trained on the synthetic sample market, not real data.")

history_table = ui.attempt("The inputs of each day", data.history, cfg)
last_day = (
    history_table["date"].max()
    if history_table is not None and not history_table.is_empty()
    else date.fromisoformat(latest["as_of"])
    if latest and latest.get("as_of")
    else date.today()
)
what_if(cfg, version, history_table, last_day)
chart(cfg, history_table, latest)
