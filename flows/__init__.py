"""Prefect flows: thin wrappers that wire `volpred` functions into the plan's DAG."""
