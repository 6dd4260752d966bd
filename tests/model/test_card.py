"""The model card's schema: real cards round-trip to the same JSON, cards written before
`schema_version` load as 1.0, unknown fields survive, and what cannot be read is refused with
the file and the problem named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.support.cards import make_card
from volpred.config import Settings
from volpred.model import store
from volpred.model.card import SCHEMA_VERSION, CardError, LatestForecast, ModelCard, read_card


def _served_card_path(served: Settings) -> Path:
    return store.version_dir(served.artifacts_dir) / store.CARD_FILE


def _write(path: Path, obj: dict) -> Path:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def test_a_saved_card_round_trips_to_the_same_text(served):
    for path in (_served_card_path(served), served.artifacts_dir / "candidate" / "model_card.json"):
        text = path.read_text(encoding="utf-8")
        card = read_card(path)
        assert card.to_json() == text
        assert json.loads(text)["schema_version"] == SCHEMA_VERSION == "1.1"


def test_the_typed_parts_are_what_the_readers_use(served):
    card = read_card(_served_card_path(served))
    assert card.data.source == "sample" and card.data.synthetic is True
    assert isinstance(card.latest_forecast, LatestForecast)
    assert card.latest_forecast.vol_lo <= card.latest_forecast.vol <= card.latest_forecast.vol_hi
    overall = card.metrics.headline.overall
    assert overall.score("vol", "selected", "rmse") > 0
    assert overall.score("vol", "no_such_model", "rmse") is None
    assert card.metrics.overall.intervals.vol_coverage is not None
    assert card.metrics.by_year and all(p.n for p in card.metrics.by_year.values())
    assert card.metrics.final_model.interval_level == 0.8
    assert store.PREDICTIONS_FILE in card.extra_files and card.candidate_files == {}


def test_a_card_from_before_schema_versions_loads_as_1_0_and_keeps_its_json(served, tmp_path):
    old = json.loads(_served_card_path(served).read_text())
    del old["schema_version"]
    card = read_card(_write(tmp_path / "model_card.json", old))
    assert card.schema_version == "1.0"
    assert card.to_dict() == old | {"schema_version": "1.0"}
    assert (
        card.to_json()
        == json.dumps(old | {"schema_version": "1.0"}, indent=2, sort_keys=True) + "\n"
    )


def test_an_old_card_without_the_newer_optional_fields_stays_without_them():
    """Cards from before fingerprints, latest forecasts and extra files still load, and writing
    one back does not invent those fields."""
    card = make_card()
    assert card.fingerprint is None and card.latest_forecast is None and card.extra_files == {}
    written = json.loads(card.to_json())
    for absent in ("fingerprint", "latest_forecast", "extra_files", "version", "candidate_files"):
        assert absent not in written


def test_fields_of_a_later_minor_version_survive_a_round_trip():
    card = ModelCard.from_dict(
        make_card().to_dict()
        | {"schema_version": "1.4", "drift": {"psi": 0.1}}
        | {"data": make_card().to_dict()["data"] | {"vendor": "x"}}
    )
    again = ModelCard.from_dict(json.loads(card.to_json()))
    assert again.schema_version == "1.4"
    assert again.model_extra == {"drift": {"psi": 0.1}} and again.data.model_extra == {
        "vendor": "x"
    }


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2.0", r"schema_version 2\.0 is newer than this volpred reads \(1\.x\); upgrade"),
        (2, r"schema_version 2\.0 is newer"),
        ("0.9", r"schema_version 0\.9 is older"),
        ("one", r"schema_version 'one' is not MAJOR\.MINOR"),
    ],
)
def test_an_unknown_major_version_is_refused_naming_the_file(tmp_path, version, message):
    path = _write(tmp_path / "model_card.json", make_card().to_dict() | {"schema_version": version})
    with pytest.raises(
        CardError, match=rf"model card {path} is not a model card volpred can read: {message}"
    ):
        read_card(path)
    with pytest.raises(store.ModelLoadError, match=str(path)):
        store.read_card(path)


def test_a_card_missing_or_mistyping_a_field_names_the_field(tmp_path):
    missing = make_card().to_dict()
    del missing["horizon"]
    with pytest.raises(CardError, match=r"model_card\.json .*horizon: Field required"):
        read_card(_write(tmp_path / "model_card.json", missing))
    wrong = make_card().to_dict() | {
        "latest_forecast": {"date": "2025-12-31", "vol": "high", "vol_lo": 0.1, "vol_hi": 0.2,
                            "ret": 0.0, "ret_lo": -0.1, "ret_hi": 0.1},
    }  # fmt: skip
    with pytest.raises(CardError, match=r"latest_forecast\.vol: Input should be a valid number"):
        read_card(_write(tmp_path / "model_card.json", wrong))


def test_an_unreadable_card_is_named(tmp_path):
    path = tmp_path / "model_card.json"
    path.write_text('{"trained_at": ', encoding="utf-8")
    with pytest.raises(store.ModelLoadError, match=rf"model card {path} is unreadable"):
        store.read_card(path)
    with pytest.raises(store.ModelLoadError, match="unreadable"):
        store.read_card(tmp_path / "missing.json")


def test_saved_as_adds_the_stores_fields_and_drops_the_candidates_files():
    candidate = make_card(fingerprint="train-1").with_candidate_files({"a.skops": "0" * 64})
    assert candidate.candidate_files == {"a.skops": "0" * 64}
    saved = candidate.saved_as(
        version="20260102T030405Z",
        saved_at="2026-01-02T03:04:05+00:00",
        model_file="trained_model.skops",
        model_sha256="1" * 64,
        model_size_bytes=10,
        library_versions={"volpred": "0.1.0"},
        extra_files={},
    )
    written = saved.to_dict()
    assert "candidate_files" not in written and written["version"] == "20260102T030405Z"
    assert written["extra_files"] == {} and written["fingerprint"] == "train-1"


def test_a_card_is_immutable():
    with pytest.raises(ValidationError):
        make_card().horizon = 5  # type: ignore[misc]
