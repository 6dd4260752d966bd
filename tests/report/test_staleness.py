"""The stale-input sentence every reader shows: the input, its last date, the models that
answered; nothing when no input was missing."""

from __future__ import annotations

from volpred.report.staleness import source_label, stale_warning

RECORD = {
    "as_of": "2018-12-31",
    "inputs_as_of": {"spx": "2018-12-31", "vix": "2018-11-30", "treasuries": "2018-12-31"},
    "stale_inputs": ["vix"],
    "vol_model": "ensemble without vix",
    "ret_model": "hist_mean",
    "fallback": "ensemble without vix",
    "return_fallback": "hist_mean",
}


def test_the_warning_names_the_input_its_last_date_and_the_fallbacks() -> None:
    text = stale_warning(RECORD)
    assert text is not None
    assert text.startswith("Stale input on 2018-12-31: the VIX was last observed on 2018-11-30")
    assert "not with a made-up value" in text
    assert "The volatility forecast comes from the fallback model 'ensemble without vix'" in text
    assert "the return forecast comes from the fallback model 'hist_mean'" in text


def test_a_primary_that_answered_is_named_as_the_models_own() -> None:
    text = stale_warning(RECORD | {"return_fallback": None, "ret_model": "combo"})
    assert "the return forecast comes from the model's own 'combo'" in str(text)


def test_a_card_record_uses_its_date_and_several_sources_are_listed() -> None:
    card = {k: v for k, v in RECORD.items() if k != "as_of"} | {"date": "2018-12-31"}
    card["stale_inputs"] = ["ANFCI", "vix"]
    card["inputs_as_of"] = {"vix": "2018-11-30", "ANFCI": None}
    text = str(stale_warning(card))
    assert text.startswith("Stale inputs on 2018-12-31: ANFCI has no value; the VIX was last")
    assert "their fill limits" in text


def test_nothing_to_say_when_no_input_was_missing() -> None:
    assert stale_warning(RECORD | {"stale_inputs": []}) is None
    assert stale_warning(None) is None
    assert stale_warning({"vol": 0.2}) is None  # a record from before the fields existed


def test_labels() -> None:
    assert source_label("treasuries") == "the Treasury yields" and source_label("CFNAI") == "CFNAI"
