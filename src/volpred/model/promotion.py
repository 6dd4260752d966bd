"""Whether a trained candidate replaces the served model: one rule for `volpred train` and the
flow.

`decide` is pure (two cards in, a `PromotionDecision` out), so the rule is tested without
training anything; `carry_out` then does what the decision says. An analyst's answer (the flow's
pause in the Prefect UI, `--force` at the command line) turns a decision that needs one into a
promotion or a refusal with `PromotionDecision.answered`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from volpred.config import Settings
from volpred.model import store
from volpred.model.candidate import candidate_card, promote, served_card
from volpred.model.card import ModelCard, Target

#: The headline out-of-sample metrics a new model must not worsen, and which way is better.
PROMOTION_METRICS: list[tuple[tuple[Target, str, str], Literal["lower", "higher"]]] = [
    (("vol", "selected", "rmse"), "lower"),
    (("vol", "selected", "qlike"), "lower"),
    (("ret", "selected", "oos_r2_hist_mean"), "higher"),
]
#: Relative slack: walk-forward numbers move a little when a few new days are added.
PROMOTION_TOLERANCE = 0.01


@dataclass(frozen=True)
class Comparison:
    not_worse: bool
    #: metric, current, candidate, better ("lower"/"higher"), ok: one row per metric both have.
    rows: list[dict[str, Any]]


def compare(current: ModelCard, candidate: ModelCard) -> Comparison:
    rows, not_worse = [], True
    for path, better in PROMOTION_METRICS:
        old = current.metrics.headline.overall.score(*path)
        new = candidate.metrics.headline.overall.score(*path)
        if old is None or new is None:
            continue
        slack = PROMOTION_TOLERANCE * max(abs(old), 1e-12)
        ok = new <= old + slack if better == "lower" else new >= old - slack
        not_worse &= ok
        rows.append(
            {"metric": ".".join(path), "current": old, "candidate": new, "better": better, "ok": ok}
        )
    return Comparison(not_worse, rows)


class Outcome(StrEnum):
    PROMOTE = "promote"
    ALREADY_SERVED = "already served"
    ASK_ANALYST = "ask an analyst"
    DECLINED = "declined"


#: Why a candidate needs an analyst (the flow's approval form says which).
APPROVAL_REQUIRED = "approval required"
WORSE = "the candidate is worse on a metric"


@dataclass(frozen=True)
class PromotionDecision:
    outcome: Outcome
    reason: str
    served_version: str | None = None
    comparison: Comparison | None = None  # None when nothing is served or it is the same model

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.comparison.rows if self.comparison else []

    def answered(self, promote: bool, comment: str = "") -> PromotionDecision:
        """The decision once an analyst answered one that asked for them."""
        if self.outcome is not Outcome.ASK_ANALYST:
            return self
        verdict = "approved" if promote else "declined"
        reason = f"the analyst {verdict}" + (f": {comment}" if comment else "")
        outcome = Outcome.PROMOTE if promote else Outcome.DECLINED
        return replace(self, outcome=outcome, reason=reason)


def decide(
    served: ModelCard | None, candidate: ModelCard, *, require_approval: bool, force: bool
) -> PromotionDecision:
    """Promote when nothing is served, when forced, or when the candidate is not worse than the
    served model on any of `PROMOTION_METRICS` and no approval is required; otherwise an analyst
    decides. A candidate trained from the same inputs and code as the served model is already
    served, unless that version predates keeping walk-forward predictions with a version: then
    it is saved again, complete (the report and the API's /oos need them)."""
    if served is None:
        return PromotionDecision(Outcome.PROMOTE, "nothing is served yet")
    if (
        candidate.fingerprint is not None
        and served.fingerprint == candidate.fingerprint
        and store.PREDICTIONS_FILE in served.extra_files
    ):
        return PromotionDecision(Outcome.ALREADY_SERVED, "already served", served.version)
    comparison = compare(served, candidate)
    if force:
        return PromotionDecision(Outcome.PROMOTE, "forced", served.version, comparison)
    if comparison.not_worse and not require_approval:
        return PromotionDecision(
            Outcome.PROMOTE, "not worse than the served model", served.version, comparison
        )
    why = APPROVAL_REQUIRED if comparison.not_worse else WORSE
    return PromotionDecision(Outcome.ASK_ANALYST, why, served.version, comparison)


def review(settings: Settings, *, require_approval: bool, force: bool = False) -> PromotionDecision:
    """`decide` on the served model's card and the candidate's, as they are on disk."""
    return decide(
        served_card(settings),
        candidate_card(settings),
        require_approval=require_approval,
        force=force,
    )


@dataclass(frozen=True)
class SaveResult:
    version: str | None  # the version served afterwards
    promoted: bool
    reason: str  # "promoted", "already served" or "declined"
    path: Path | None = None
    size_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The save_model checkpoint (JSON): path and size only for a new version."""
        new = {"path": str(self.path), "size_bytes": self.size_bytes} if self.promoted else {}
        return {"version": self.version, "promoted": self.promoted} | new | {"reason": self.reason}


def carry_out(settings: Settings, decision: PromotionDecision) -> SaveResult:
    """Serve the candidate if the decision says so. A decision still waiting for an analyst
    keeps the served model: nobody approved the candidate."""
    if decision.outcome is Outcome.ALREADY_SERVED:
        # a save killed half-way may have left the top-level copies behind `latest`
        store.repair(settings.artifacts_dir)
        return SaveResult(decision.served_version, False, "already served")
    if decision.outcome is Outcome.PROMOTE:
        saved = promote(settings)
        return SaveResult(saved.version, True, "promoted", saved.path, saved.size_bytes)
    return SaveResult(decision.served_version, False, "declined")
