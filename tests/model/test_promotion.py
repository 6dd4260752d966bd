"""The promotion rule shared by `volpred train` and the flow: `decide` on cards alone, then
`carry_out` on a copy of the session's served model."""

from __future__ import annotations

import pytest

from tests.support.cards import headline, make_card
from tests.support.runs import copy_served
from volpred.model import candidate, promotion, store
from volpred.model.promotion import (
    APPROVAL_REQUIRED,
    PROMOTION_TOLERANCE,
    WORSE,
    Outcome,
    compare,
    decide,
)

PREDICTIONS = {store.PREDICTIONS_FILE: "0" * 64}


def served_card(fingerprint="train-old", extra_files=PREDICTIONS, **scores):
    return make_card(
        version="20260101T000000Z",
        fingerprint=fingerprint,
        metrics=headline(**scores),
        extra_files=extra_files,
    )


def candidate_card(fingerprint="train-new", **scores):
    return make_card(fingerprint=fingerprint, metrics=headline(**scores))


def test_the_first_model_is_promoted():
    decision = decide(None, candidate_card(), require_approval=True, force=False)
    assert decision.outcome is Outcome.PROMOTE and decision.comparison is None


def test_the_same_model_is_already_served_and_not_compared():
    served = served_card(fingerprint="train-1")
    decision = decide(served, candidate_card("train-1"), require_approval=True, force=True)
    assert decision.outcome is Outcome.ALREADY_SERVED
    assert decision.served_version == served.version and decision.rows == []


def test_a_version_saved_before_predictions_were_kept_is_saved_again():
    served = served_card(fingerprint="train-1", extra_files={})
    decision = decide(served, candidate_card("train-1"), require_approval=False, force=False)
    assert decision.outcome is Outcome.PROMOTE
    assert decision.comparison is not None and decision.comparison.not_worse


def test_not_worse_is_promoted_unless_approval_is_required():
    served, new = served_card(), candidate_card(vol_rmse=0.049)
    auto = decide(served, new, require_approval=False, force=False)
    assert auto.outcome is Outcome.PROMOTE and auto.reason == "not worse than the served model"
    asked = decide(served, new, require_approval=True, force=False)
    assert (asked.outcome, asked.reason) == (Outcome.ASK_ANALYST, APPROVAL_REQUIRED)


def test_worse_asks_an_analyst_with_the_comparison_unless_forced():
    served, new = served_card(vol_qlike=0.3), candidate_card(vol_qlike=0.4)
    decision = decide(served, new, require_approval=False, force=False)
    assert (decision.outcome, decision.reason) == (Outcome.ASK_ANALYST, WORSE)
    qlike = next(r for r in decision.rows if r["metric"] == "vol.selected.qlike")
    assert qlike == {
        "metric": "vol.selected.qlike",
        "current": 0.3,
        "candidate": 0.4,
        "better": "lower",
        "ok": False,
    }
    forced = decide(served, new, require_approval=False, force=True)
    assert forced.outcome is Outcome.PROMOTE and forced.reason == "forced"


def test_the_tolerance_and_which_way_is_better():
    rmse = 0.05
    inside = compare(served_card(vol_rmse=rmse), candidate_card(vol_rmse=rmse * 1.009))
    beyond = compare(served_card(vol_rmse=rmse), candidate_card(vol_rmse=rmse * 1.011))
    assert PROMOTION_TOLERANCE == 0.01 and inside.not_worse and not beyond.not_worse
    lower_r2 = compare(served_card(ret_r2=0.01), candidate_card(ret_r2=0.0))
    assert not lower_r2.not_worse
    assert [r["metric"] for r in lower_r2.rows if not r["ok"]] == ["ret.selected.oos_r2_hist_mean"]


def test_metrics_one_card_lacks_are_not_compared():
    old = make_card(metrics={"headline": {"overall": {"vol": {"selected": {"rmse": 0.05}}}}})
    comparison = compare(old, candidate_card())
    assert [r["metric"] for r in comparison.rows] == ["vol.selected.rmse"]


def test_the_analysts_answer_settles_a_decision_that_asked_for_it():
    asked = decide(
        served_card(vol_qlike=0.3),
        candidate_card(vol_qlike=0.4),
        require_approval=False,
        force=False,
    )
    approved = asked.answered(True, "reviewed the residuals")
    assert approved.outcome is Outcome.PROMOTE
    assert approved.reason == "the analyst approved: reviewed the residuals"
    assert approved.rows == asked.rows
    declined = asked.answered(False)
    assert (declined.outcome, declined.reason) == (Outcome.DECLINED, "the analyst declined")
    first = decide(None, candidate_card(), require_approval=True, force=False)
    assert first.answered(False) == first  # nothing was asked


@pytest.fixture
def served_copy(served, tmp_path):
    return copy_served(served, tmp_path)


def _versions(settings):
    return sorted(p.name for p in (settings.artifacts_dir / "models").iterdir())


def test_carry_out_does_what_the_decision_says(served_copy):
    settings = served_copy
    before = _versions(settings)
    served = candidate.served_card(settings)
    same = promotion.review(settings, require_approval=True)
    assert same.outcome is Outcome.ALREADY_SERVED  # the copy's candidate is the served model
    result = promotion.carry_out(settings, same)
    assert result.as_dict() == {
        "version": served.version,
        "promoted": False,
        "reason": "already served",
    }
    waiting = decide(
        served_card(), candidate_card(vol_qlike=1.0), require_approval=False, force=False
    )
    declined = promotion.carry_out(settings, waiting)
    assert (declined.promoted, declined.reason) == (False, "declined")
    assert _versions(settings) == before
    forced = promotion.review(settings, require_approval=False, force=True)
    assert forced.outcome is Outcome.ALREADY_SERVED  # forcing does not duplicate a version
    promote = decide(None, candidate.candidate_card(settings), require_approval=False, force=False)
    saved = promotion.carry_out(settings, promote).as_dict()
    assert saved["promoted"] is True and saved["reason"] == "promoted"
    assert saved["version"] not in before and _versions(settings) == sorted(
        [*before, saved["version"]]
    )
    assert (
        saved["path"] == str(settings.artifacts_dir / store.MODEL_FILE) and saved["size_bytes"] > 0
    )
