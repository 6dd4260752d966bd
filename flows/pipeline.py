"""The deployment entrypoint named in prefect.yaml; the flow lives in `volpred.flows.pipeline`."""

from volpred.flows.pipeline import volpred_pipeline

__all__ = ["volpred_pipeline"]
