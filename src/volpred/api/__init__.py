"""The volpred REST API (Flask under gunicorn): forecasts, figures and data over HTTP."""

from volpred.api.app import create_app

__all__ = ["create_app"]
