"""Prefect flows: thin wrappers that wire `volpred` functions into the plan's DAG."""

import os

# Route the package's own log lines into Prefect's run logs; this runs before any flow module
# imports prefect, which reads these settings once. The same functions also run outside flows
# (CLI, tests), where their lines simply stay local.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "volpred")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
