"""volpred: the S&P 500's next-month volatility and return, forecast and served.

The public Python API, stable across internal restructures:

    from volpred import Settings, load_forecaster, predict

    settings = Settings()                      # VOLPRED_* environment, then defaults
    forecaster = load_forecaster(settings)     # the served model over the cleaned data
    predict(forecaster, dates=["latest"])      # or features={"vix": 35.0}, or both

Sub-packages, each with one job (each `__init__` says what it may import):
`data` (sources -> raw checkpoint -> cleaned features), `model` (walk-forward, the final model,
its card, candidate, promotion and store, the forecaster), `serving` (REST API, dashboard),
`report` (charts, their export, the PDF report), `runtime` (files, cache keys, processes, the
Prefect server) and `flows` (the Prefect flow that wires the tasks). `config` holds `Settings`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "load_forecaster", "predict"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import volpred` stays cheap for the CLI and the dashboard.
    if name == "Settings":
        from volpred.config import Settings

        return Settings
    if name in ("load_forecaster", "predict"):
        from volpred.model import forecaster

        return getattr(forecaster, name)
    raise AttributeError(f"module 'volpred' has no attribute {name!r}")
