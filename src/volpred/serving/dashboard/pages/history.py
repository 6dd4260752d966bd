"""Market history page: SPX, VIX, realised vol (close-to-close and range-based), VRP and the
term spread over a chosen date range, with high-VIX regimes shaded."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from volpred.report import charts
from volpred.serving.dashboard import data, figures, ui

ui.page_view("history")
ui.persist("hist_range", "hist_regime")
cfg = data.config()
st.title("Market history")

table = ui.attempt("Market history", data.history, cfg)
if table is not None and not table.is_empty():
    first, last = table["date"].min(), table["date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    # Defaults through session state: widgets kept across pages (ui.persist) take no value=.
    st.session_state.setdefault("hist_range", (max(first, last - timedelta(days=3652)), last))
    st.session_state.setdefault("hist_regime", 30.0)
    left, right = st.columns([3, 1])
    with left:
        picked = st.slider(
            "Date range",
            min_value=first,
            max_value=last,
            format="YYYY-MM-DD",
            key="hist_range",
            on_change=ui.input_changed("date_range", "hist_range"),
        )
    with right:
        threshold = st.number_input(
            "Shade VIX above",
            min_value=10.0,
            max_value=80.0,
            step=5.0,
            key="hist_regime",
            on_change=ui.input_changed("vix_regime", "hist_regime"),
        )
    start, end = picked
    view = charts.filter_dates(table, start, end)
    spans = figures.regime_spans(view, threshold)
    days = view.height
    above = int((view["vix"] > threshold).sum()) if days else 0
    st.caption(
        f"{days} trading days from {start} to {end}; the VIX closed above {threshold:g} on "
        f"{above} of them ({100 * above / max(days, 1):.1f}%), shaded in every chart."
    )
    st.plotly_chart(
        charts.history(table, start=start, end=end, vix_regime=threshold), key="history"
    )
    st.plotly_chart(figures.realized_vol(view, spans), key="realized_vol")
    col_a, col_b = st.columns(2)
    with col_a:
        vrp_fig = charts.vrp(table, start=start, end=end)
        st.plotly_chart(figures.shade_regimes(vrp_fig, spans), key="vrp")
    with col_b:
        st.plotly_chart(figures.term_spread(view, spans), key="term_spread")
elif table is not None:
    st.info("The API has no market data to show.")
