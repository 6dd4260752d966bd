"""`python -m volpred.serving.dashboard.entrypoint run app.py ...`: `streamlit run`,
with the dashboard's
heavy imports (plotly, polars, the figure modules) and plotly's figure validation warmed up
before the server starts listening. Streamlit imports a page's modules on the first visit; done
here, that cost moves into the service's start (which waits for health anyway) instead of
the first analyst's page load.

It also logs the process's start and end, and on a clean exit (SIGTERM from `volpred stop` /
`make stop` included) removes the marker file `start_dashboard` wrote for it
(`VOLPRED_DASHBOARD_MARKER_FILE`), so a stopped dashboard never looks running.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

MARKER_ENV = "VOLPRED_DASHBOARD_MARKER_FILE"


def remove_own_marker(marker: Path, pid: int) -> None:
    """Delete `marker` if it names this process (a newer dashboard's marker stays)."""
    try:
        if f"pid: {pid}\n" in marker.read_text(encoding="utf-8"):
            marker.unlink(missing_ok=True)
    except OSError:
        pass


def warm_up() -> None:
    import plotly.graph_objects as go
    import plotly.io
    import polars as pl

    from volpred.report import charts, numbers  # noqa: F401
    from volpred.serving.dashboard import client, figures, tables  # noqa: F401

    empty = pl.DataFrame({"date": [], "vix": []}, schema={"date": pl.Date, "vix": pl.Float64})
    plotly.io.to_json(figures.vix_vs_forecast(empty, pl.DataFrame()))
    plotly.io.to_json(go.Figure(go.Bar(x=[1], y=[1])))
    assert charts.TEMPLATE is not None


def main() -> None:
    from volpred.config import Settings
    from volpred.serving.dashboard import events

    events.configure(Settings().log_level)
    if os.environ.get(MARKER_ENV):
        atexit.register(remove_own_marker, Path(os.environ[MARKER_ENV]), os.getpid())
    warm_up()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
