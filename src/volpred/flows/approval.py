"""The analyst's say in a promotion: a pause in the Prefect UI, where no answer in time means
"keep the current model".

An expired Prefect pause fails the flow run, and a failed run is the wrong answer to an
analyst who was away. So the timeout is an answer instead: a timer resumes the run with
"keep the current model" just before Prefect's own timeout, which stays as a backstop.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, NotPausedError
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.logging import get_run_logger
from pydantic import ConfigDict

from volpred.config import Settings
from volpred.flows import summary
from volpred.model import promotion
from volpred.model.promotion import Outcome, PromotionDecision

#: Seconds Prefect waits past the automatic answer before failing the run itself.
BACKSTOP_S = 300
KEEP_CURRENT = {"promote": False, "comment": "no answer in time: kept the current model"}


class AnalystAnswer(RunInput):
    """The analyst's answer in the Prefect UI."""

    model_config = ConfigDict(title="PromotionDecision")  # the form's title in the UI

    promote: bool = False
    comment: str = ""


def review(settings: Settings, require_approval: bool) -> PromotionDecision:
    """The promotion decision, with the analyst's answer when it needs one."""
    decision = promotion.review(settings, require_approval=require_approval)
    if decision.outcome is Outcome.ASK_ANALYST:
        decision = ask_analyst(decision, settings.approval_timeout)
    return decision


def ask_analyst(decision: PromotionDecision, timeout_s: float) -> PromotionDecision:
    """Pause the flow run with both models' metrics until an analyst answers or `timeout_s`
    passes (then the answer is "keep the current model")."""
    logger = get_run_logger()
    flow_run_id = FlowRunContext.get().flow_run.id
    default = threading.Timer(timeout_s, _keep_current, args=(flow_run_id,))
    default.daemon = True
    default.start()
    try:
        answer = pause_flow_run(
            wait_for_input=AnalystAnswer.with_initial_data(
                description=summary.approval_request(decision, timeout_s)
            ),
            timeout=int(timeout_s) + BACKSTOP_S,
        )
    finally:
        default.cancel()
    logger.info("promotion decision: promote=%s (%s)", answer.promote, answer.comment)
    if not answer.promote:
        logger.warning("keeping model %s", decision.served_version)
    return decision.answered(answer.promote, answer.comment)


def _keep_current(flow_run_id: Any) -> None:
    # The analyst may have answered, or the run ended, between the timer firing and now.
    with contextlib.suppress(NotPausedError, FlowPauseTimeout, RuntimeError):
        resume_flow_run(flow_run_id, run_input=KEEP_CURRENT)
