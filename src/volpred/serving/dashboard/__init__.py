"""The analysts' Streamlit dashboard: a client of the REST API (it never loads the model).

`app.py` is the Streamlit entry, `pages/` the four pages, `client.py` the API client,
`entrypoint.py` the process's
main, `data.py` the cached calls, `figures.py` the dashboard-only figures, `launcher.py` the
background service (`run_streamlit_dashboard`) and `volpred dashboard`.
"""
