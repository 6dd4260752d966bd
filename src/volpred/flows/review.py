"""The review-report flow: an analyst's review of the current report through a form in the
Prefect UI (`wait_for_input`), deployed as `review-report/review` and started from the UI when
the analyst is ready.

A flow of its own rather than a pause inside the daily run: the daily run must not wait for a
person. A paused pipeline run would hold its worker process and stay unfinished for hours,
overlap the next scheduled run, and leave the UI showing a paused pipeline when nothing is
wrong with it. A separate run costs nothing until the analyst starts it, records who reviewed
what as a flow run with its own artifact, and can be started again for a report that was sent
back. As in the promotion gate (`volpred.flows.approval`), no answer in time is an answer: a
timer resumes the run just before Prefect's own pause timeout, and the draft is left as it is.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, NotPausedError
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.logging import get_run_logger
from pydantic import ConfigDict, Field

from volpred.config import Settings
from volpred.flows import summary
from volpred.report import review

#: Seconds Prefect waits past the automatic answer before failing the run itself.
BACKSTOP_S = 300
#: The timer's answer: no reviewer, so nothing is recorded.
NO_ANSWER = {"reviewer": "", "commentary": "", "decision": "approve"}


class ReportReview(RunInput):
    """The analyst's form in the Prefect UI."""

    model_config = ConfigDict(title="ReportReview")

    reviewer: str = Field("", description="your name, as it will be printed in the report")
    commentary: str = Field(
        "", description="your commentary in markdown: the report's Analyst's commentary section"
    )
    decision: Literal["approve", "send back"] = Field(
        "approve",
        description="approve: the reviewed report is written; send back: it stays a draft",
    )


@task(name="sign_off_report", cache_policy=NO_CACHE, timeout_seconds=300)
def sign_off_report(settings: Settings, answer: ReportReview, run_id: str) -> dict[str, Any]:
    """Record the answer (`volpred.report.review.review_report`: renders the reviewed copy)."""
    entry = review.Review(
        by=answer.reviewer.strip(),
        notes=answer.commentary,
        at=datetime.now(UTC),
        decision="sent back" if answer.decision == "send back" else "approved",
    )
    return review.review_report(settings, entry, run_id=run_id).as_dict()


def ask_reviewer(meta: dict[str, Any], timeout_s: float) -> ReportReview:
    """Pause this run with the report's facts until the analyst answers, or until `timeout_s`
    passes (then the answer has no reviewer)."""
    flow_run_id = FlowRunContext.get().flow_run.id
    default = threading.Timer(timeout_s, _no_answer, args=(flow_run_id,))
    default.daemon = True
    default.start()
    try:
        return pause_flow_run(
            wait_for_input=ReportReview.with_initial_data(
                description=summary.review_request(meta, timeout_s)
            ),
            timeout=int(timeout_s) + BACKSTOP_S,
        )
    finally:
        default.cancel()


def _no_answer(flow_run_id: Any) -> None:
    # The analyst may have answered, or the run ended, between the timer firing and now.
    with contextlib.suppress(NotPausedError, FlowPauseTimeout, RuntimeError):
        resume_flow_run(flow_run_id, run_input=NO_ANSWER)


@flow(name="review-report")
def review_report_flow(
    run_id: str | None = None,
    report_dir: Path | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Review the current report (the one of `run_id` when given; refused when a newer run
    replaced it) through a form; `timeout_s` defaults to VOLPRED_REVIEW_TIMEOUT."""
    settings = Settings().with_overrides(report_dir=report_dir, review_timeout=timeout_s)
    logger = get_run_logger()
    meta = review.current_draft(settings, run_id)
    answer = ask_reviewer(meta, settings.review_timeout)
    if not answer.reviewer.strip():
        result = {
            "status": meta.get("status", "draft"),
            "run_id": meta.get("run_id"),
            "message": f"No review of run {meta.get('run_id')}'s report within "
            f"{settings.review_timeout:.0f} s (or no name given): it is left as it was.",
        }
        logger.warning(result["message"])
    else:
        result = sign_off_report(settings, answer, str(meta["run_id"]))
        logger.info(
            "report of run %s: %s by %s", result["run_id"], result["status"], answer.reviewer
        )
    create_markdown_artifact(key="report-review", markdown=summary.review_outcome(result))
    return result
