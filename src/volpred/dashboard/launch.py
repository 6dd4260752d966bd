"""`python -m volpred.dashboard.launch run app.py ...`: `streamlit run`, with the dashboard's
heavy imports (plotly, polars, the figure modules) and plotly's figure validation warmed up
before the server starts listening. Streamlit imports a page's modules on the first visit; done
here, that cost moves into the service's start (which waits for health anyway) instead of
the first analyst's page load."""

from __future__ import annotations

import sys


def warm_up() -> None:
    import plotly.graph_objects as go
    import plotly.io
    import polars as pl

    from volpred import plots
    from volpred.dashboard import client, figures, fmt, tables  # noqa: F401

    empty = pl.DataFrame({"date": [], "vix": []}, schema={"date": pl.Date, "vix": pl.Float64})
    plotly.io.to_json(figures.vix_vs_forecast(empty, pl.DataFrame()))
    plotly.io.to_json(go.Figure(go.Bar(x=[1], y=[1])))
    assert plots.TEMPLATE is not None


def main() -> None:
    warm_up()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
