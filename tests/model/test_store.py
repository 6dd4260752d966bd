import json
import threading

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import Ridge

from tests.support.cards import make_card
from volpred.model import store
from volpred.model.store import ModelLoadError, latest_version, load_file, load_version, save_model


class Untrusted:
    """A type no allow-list names: a stand-in for a foreign object smuggled into a model file."""

    def __init__(self):
        self.payload = [1, 2, 3]


@pytest.fixture
def model():
    rng = np.random.default_rng(0)
    return Ridge(alpha=1.0).fit(rng.normal(size=(50, 3)), rng.normal(size=50))


def test_save_then_load_round_trip_with_versions_and_latest(tmp_path, model):
    saved = save_model(model, make_card(note="first"), tmp_path)
    assert saved.path.read_bytes() == (saved.version_dir / store.MODEL_FILE).read_bytes()
    loaded, card = load_version(tmp_path)
    assert card.version == saved.version == latest_version(tmp_path)
    assert card.model_extra == {"note": "first"} and card.model_size_bytes == saved.size_bytes
    assert "scikit-learn" in card.library_versions
    X = np.ones((2, 3))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    second = save_model(model, make_card(note="second"), tmp_path)
    assert second.version > saved.version
    assert latest_version(tmp_path) == second.version
    assert (tmp_path / "models" / saved.version).is_dir()  # earlier versions kept
    assert json.loads(saved.card_path.read_text())["version"] == second.version


def test_a_model_holding_an_untrusted_type_is_refused_on_save_and_load(tmp_path):
    with pytest.raises(ModelLoadError, match="outside the trusted list"):
        save_model({"x": Untrusted()}, make_card(), tmp_path)
    path = tmp_path / "foreign.skops"
    path.write_bytes(sio.dumps({"x": Untrusted()}))
    with pytest.raises(ModelLoadError, match=r"foreign\.skops holds types outside.*Untrusted"):
        load_file(path)


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b[:100] + bytes([b[100] ^ 0xFF]) + b[101:]],
    ids=["truncated", "flipped"],
)
def test_truncated_or_altered_file_is_named_and_refused(tmp_path, model, damage):
    saved = save_model(model, make_card(), tmp_path)
    target = saved.version_dir / store.MODEL_FILE
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(ModelLoadError, match=r"trained_model\.skops does not match its model card"):
        load_version(tmp_path)
    with pytest.raises(ModelLoadError, match="trained_model.skops"):
        load_file(target)  # without a card: skops itself refuses the damaged archive


def test_latest_pointing_to_a_missing_version(tmp_path, model):
    save_model(model, make_card(), tmp_path)
    (tmp_path / "latest").write_text("20990101T000000Z\n")
    with pytest.raises(ModelLoadError, match="points to version '20990101T000000Z'"):
        load_version(tmp_path)


def test_no_model_yet(tmp_path):
    with pytest.raises(ModelLoadError, match="no model saved yet"):
        load_version(tmp_path)


def test_interrupted_save_leaves_the_previous_model_loadable(tmp_path, model, monkeypatch):
    first = save_model(model, make_card(), tmp_path)

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "rename", crash)
    with pytest.raises(OSError, match="No space"):
        save_model(model, make_card(), tmp_path)
    monkeypatch.undo()
    loaded, card = load_version(tmp_path)
    assert card.version == first.version
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [first.version]


def test_concurrent_saves_get_distinct_complete_versions(tmp_path, model):
    threads = [
        threading.Thread(target=save_model, args=(model, make_card(), tmp_path)) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert len(versions) == 3
    for version in versions:
        load_version(tmp_path, version)


def test_extra_files_join_the_version_folder_with_their_hashes(tmp_path, model):
    data = store.dumps(model)
    saved = store.save_bytes(data, make_card(), tmp_path, {"oos_predictions.parquet": b"rows"})
    folder = store.version_dir(tmp_path)
    assert folder == saved.version_dir
    assert (folder / "oos_predictions.parquet").read_bytes() == b"rows"
    card = json.loads((folder / store.CARD_FILE).read_text())
    assert card["extra_files"] == {"oos_predictions.parquet": store.sha256_bytes(b"rows")}


def test_repair_removes_leftovers_and_brings_the_copies_up(tmp_path, model):
    first = save_model(model, make_card(note="first"), tmp_path)
    first_card = first.card_path.read_bytes()
    first_model = first.path.read_bytes()
    second = save_model(model, make_card(note="second"), tmp_path)
    # A save killed after moving `latest`, before the copies, and one killed while staging:
    first.card_path.write_bytes(first_card)
    first.path.write_bytes(first_model)
    (tmp_path / "models" / ".20990101T000000Z.abcd").mkdir()
    (tmp_path / ".latest.x1.tmp").write_text("half")
    store.repair(tmp_path)
    assert json.loads(second.card_path.read_text())["version"] == second.version
    assert second.path.read_bytes() == (second.version_dir / store.MODEL_FILE).read_bytes()
    assert not list((tmp_path / "models").glob(".*")) and not list(tmp_path.glob(".*.tmp"))


def test_repair_when_only_the_model_copy_moved(tmp_path, model):
    """A kill between the model copy's rename and the card copy's: the model copy is ahead."""
    first = save_model(model, make_card(note="first"), tmp_path)
    old_card = first.card_path.read_bytes()
    second = save_model(model, make_card(note="second"), tmp_path)
    (tmp_path / store.LATEST).write_text(first.version + "\n")  # `latest` not yet moved
    first.card_path.write_bytes(old_card)  # card copy still the old one; model copy is new
    assert first.path.read_bytes() == (second.version_dir / store.MODEL_FILE).read_bytes()
    store.repair(tmp_path)
    assert first.path.read_bytes() == (first.version_dir / store.MODEL_FILE).read_bytes()
    assert json.loads(first.card_path.read_text())["version"] == first.version


def test_a_model_of_another_format_is_refused_on_load_naming_the_fix(tmp_path):
    from volpred.model.final import MODEL_FORMAT, VolpredModel

    old = VolpredModel(feature_names=["rv21"], horizon=21)  # no `format`: the first layout
    saved = save_model(old, make_card(), tmp_path)
    with pytest.raises(
        ModelLoadError, match=f"model format 1; this volpred reads format {MODEL_FORMAT}"
    ):
        load_file(saved.path)
    with pytest.raises(ModelLoadError, match="train again"):
        load_version(tmp_path)
