"""Prefect flows: thin wrappers that wire `volpred` functions into the plan's DAG."""

import os

# Route the package's own log lines into Prefect's run logs; this runs before any flow module
# imports prefect, which reads the setting once.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "volpred")
