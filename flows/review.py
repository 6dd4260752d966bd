"""The review-report deployment's entrypoint named in prefect.yaml; the flow lives in
`volpred.flows.review`."""

from volpred.flows.review import review_report_flow

__all__ = ["review_report_flow"]
