"""The Streamlit entry: `streamlit run src/volpred/dashboard/app.py`.

Five pages (Forecast, Market history, Model, Data, Report and alerts) under `st.navigation`;
the sidebar says which API the dashboard calls and which model it serves. Settings come from
`VOLPRED_*` env (`VOLPRED_DASHBOARD_API_URL`, `VOLPRED_API_KEY`, `VOLPRED_DASHBOARD_API_TIMEOUT`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from volpred.config import Settings
from volpred.serving.dashboard import data, events, ui

HERE = Path(__file__).parent
#: Material icons ship with Streamlit's fonts; emoji need a font servers often lack.
PAGES = {
    "forecast": ("Forecast", ":material/trending_up:"),
    "history": ("Market history", ":material/show_chart:"),
    "model": ("Model", ":material/science:"),
    "data": ("Data", ":material/database:"),
    "review": ("Report and alerts", ":material/notifications:"),
}

events.configure(Settings().log_level)
st.set_page_config(page_title="volpred", page_icon=":material/trending_up:", layout="wide")

cfg = data.config()
st.session_state["volpred_ready"] = ui.sidebar(cfg)
pages = [
    st.Page(str(HERE / "pages" / f"{name}.py"), title=title, icon=icon, default=name == "forecast")
    for name, (title, icon) in PAGES.items()
]
st.navigation(pages).run()
