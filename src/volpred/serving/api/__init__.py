"""The volpred REST API (Flask under gunicorn): forecasts, figures and data over HTTP.

`create_app` is imported on first use, so that the request models (`volpred.serving.api.schemas`,
which the dashboard reads for its input bounds) come without Flask and the app."""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from volpred.serving.api.app import create_app

        return create_app
    raise AttributeError(name)
