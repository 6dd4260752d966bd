"""save_model / load_model: skops files, a model card, versions and a `latest` pointer.

Layout under `artifacts_dir`:

    models/<version>/trained_model.skops   every version ever saved (immutable)
    models/<version>/model_card.json
    models/<version>/oos_predictions.parquet   its walk-forward predictions (report, dashboard)
    latest                                 the served version's name (one line)
    trained_model.skops, model_card.json   copies of the latest at fixed paths

A version directory is complete before it becomes visible (built under a temporary name, then
renamed), and `latest` moves only after that, in one atomic write: a reader never sees a half
model. Loading never unpickles: skops refuses any type outside `TRUSTED_TYPES`, and the file's
sha256 must match its card, so a truncated or altered file is named and refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from volpred.model import card as model_card
from volpred.model.card import ModelCard
from volpred.runtime.storage import (
    CheckpointWriteError,
    atomic_write_bytes,
    read_json,
    run_lock,
    sha256_file,
    staged_writes,
)

log = logging.getLogger(__name__)

MODEL_FILE = "trained_model.skops"
CARD_FILE = "model_card.json"
PREDICTIONS_FILE = "oos_predictions.parquet"
LATEST = "latest"
#: Types beyond skops' built-in safe set that a volpred model file may contain: the model, its
#: fitted forecasters (`families.Fitted`) and every family or combination `fit_final` can serve
#: (see `families`). Anything else in a file (a tampered or foreign model) is refused before any
#: object is built.
TRUSTED_TYPES: list[str] = [
    "volpred.model.final.VolpredModel",
    "volpred.model.families.Fitted",
    "volpred.model.families.Pool",
    "volpred.model.families.Pair",
    "volpred.model.families.HarX",
    "volpred.model.families.Gjr",
    "volpred.model.families.GbmVol",
    "volpred.model.families.VixCalibrated",
    "volpred.model.families.HarRV",
    "volpred.model.families.HistMean",
    "volpred.model.families.VrpCt",
    "volpred.model.families.RidgeCt",
    "volpred.model.families.GbmRet",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]
LIBRARIES = ["volpred", "scikit-learn", "skops", "numpy", "polars", "arch", "prefect"]


class ModelLoadError(RuntimeError):
    """A model file could not be loaded safely; the message names the file and the reason."""


@dataclass(frozen=True)
class SavedModel:
    version: str
    path: Path
    card_path: Path
    version_dir: Path
    size_bytes: int
    sha256: str


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = package_version(name)
    return out


def new_version(now: datetime | None = None) -> str:
    """Sortable: `YYYYMMDDTHHMMSSZ` (the saver adds `-2`, `-3`... within one second)."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _skops() -> Any:
    """skops.io, imported on first use: it imports all of scikit-learn (seconds), which runs
    that only check cards and pointers do not need."""
    import skops.io

    return skops.io


def dumps(model: Any) -> bytes:
    """skops bytes of `model`, refused if it holds a type the loader would not trust."""
    sio = _skops()
    data = sio.dumps(model)
    check_types(sio.get_untrusted_types(data=data), "the model being saved")
    return data


def save_model(model: Any, card: ModelCard, artifacts_dir: Path) -> SavedModel:
    """Persist `model` and its card as a new version, then point `latest` at it."""
    return save_bytes(dumps(model), card, artifacts_dir)


def save_bytes(
    data: bytes,
    card: ModelCard,
    artifacts_dir: Path,
    extra: Mapping[str, bytes] | None = None,
) -> SavedModel:
    """`save_model` for an already serialised model (a candidate file, kept byte for byte).

    `extra` files (name -> bytes, e.g. the walk-forward predictions) join the version folder,
    so everything describing a served version is immutable and appears with it atomically."""
    extra = dict(extra or {})
    started = time.perf_counter()
    check_types(_skops().get_untrusted_types(data=data), "the model being saved")
    models = artifacts_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    with run_lock(artifacts_dir, "artifacts", timeout=600):
        _repair(artifacts_dir)
        version = new_version()
        base, n = version, 1
        while (models / version).exists():
            n += 1
            version = f"{base}-{n}"
        card = card.saved_as(
            version=version,
            saved_at=datetime.now(UTC).isoformat(),
            model_file=MODEL_FILE,
            model_sha256=sha256_bytes(data),
            model_size_bytes=len(data),
            library_versions=library_versions(),
            extra_files={name: sha256_bytes(content) for name, content in extra.items()},
        )
        card_bytes = card.to_json().encode("utf-8")
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models))
        try:
            (staging / MODEL_FILE).write_bytes(data)
            (staging / CARD_FILE).write_bytes(card_bytes)
            for name, content in extra.items():
                (staging / name).write_bytes(content)
            for f in (MODEL_FILE, CARD_FILE, *extra):
                with open(staging / f, "rb") as fh:
                    os.fsync(fh.fileno())
            # A version folder must be listable by the API's user, like models/; the files
            # inside are 0644 and hold no secrets.
            os.chmod(staging, 0o755)  # noqa: S103  # nosec B103  # see above
            os.rename(staging, models / version)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CheckpointWriteError(
                exc.errno,
                f"could not write model version {models / version}: {exc.strerror or exc} "
                "(the served model is unchanged)",
            ) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        # One checkpoint: the top-level copies and `latest` change together or not at all (a kill
        # between the renames is what `_repair` mends at the next save).
        with staged_writes() as stage:
            stage(artifacts_dir / MODEL_FILE, lambda tmp: tmp.write_bytes(data))
            stage(artifacts_dir / CARD_FILE, lambda tmp: tmp.write_bytes(card_bytes))
            stage(artifacts_dir / LATEST, lambda tmp: tmp.write_text(version + "\n"))
    saved = SavedModel(
        version=version,
        path=artifacts_dir / MODEL_FILE,
        card_path=artifacts_dir / CARD_FILE,
        version_dir=models / version,
        size_bytes=len(data),
        sha256=sha256_bytes(data),
    )
    log.info(
        "save_model: version %s -> %s (%d bytes) in %.2f s",
        version,
        saved.path,
        saved.size_bytes,
        time.perf_counter() - started,
    )
    return saved


def repair(artifacts_dir: Path) -> None:
    """Undo what a save killed half-way leaves: staging folders and temp files (never visible
    as a version), and top-level copies (`trained_model.skops`, `model_card.json`) that do not match
    `latest` because the kill fell between their renames. Each of those files is always
    complete (atomic renames), but they can belong to different versions.

    Called with the artifacts lock held (by `save_bytes`), or takes it."""
    with run_lock(artifacts_dir, "artifacts", timeout=600):
        _repair(artifacts_dir)


def _repair(artifacts_dir: Path) -> None:
    for leftover in [*(artifacts_dir / "models").glob(".*"), *artifacts_dir.glob(".*.tmp")]:
        log.warning("save_model: removing %s, left by an interrupted save", leftover)
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    try:
        version = latest_version(artifacts_dir)
    except ModelLoadError:
        return
    folder = artifacts_dir / "models" / version
    copy = read_json(artifacts_dir / CARD_FILE) or {}
    try:
        served = read_card(folder / CARD_FILE)
    except ModelLoadError:
        return  # nothing sound to copy from; loading `latest` names the problem
    model_copy = artifacts_dir / MODEL_FILE
    in_step = model_copy.is_file() and sha256_file(model_copy) == served.model_sha256
    if copy.get("version") != version or not in_step:
        log.warning("save_model: bringing the top-level copies up to version %s", version)
        atomic_write_bytes(artifacts_dir / MODEL_FILE, (folder / MODEL_FILE).read_bytes())
        atomic_write_bytes(artifacts_dir / CARD_FILE, (folder / CARD_FILE).read_bytes())


def check_types(found: list[str], what: str) -> None:
    untrusted = sorted(set(found) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelLoadError(f"{what} holds types outside the trusted list: {untrusted}")


def latest_version(artifacts_dir: Path) -> str:
    pointer = artifacts_dir / LATEST
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError as exc:
        raise ModelLoadError(f"no model saved yet ({pointer} is missing)") from exc
    if not version or not (artifacts_dir / "models" / version / MODEL_FILE).is_file():
        raise ModelLoadError(f"{pointer} points to version {version!r}, which does not exist")
    return version


def version_dir(artifacts_dir: Path, version: str | None = None) -> Path:
    """The folder of `version` (default: the served one, `latest`)."""
    return artifacts_dir / "models" / (version or latest_version(artifacts_dir))


def read_card(path: Path) -> ModelCard:
    """The card at `path`; a ModelLoadError naming the file when it is unreadable, not a card,
    or of a schema this volpred does not read."""
    try:
        return model_card.read_card(path)
    except model_card.CardError as exc:
        raise ModelLoadError(str(exc)) from exc


def load_file(path: Path, expected_sha256: str | None = None) -> Any:
    """Load one skops file with the explicit trusted types, after checking its hash."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"model file {path} is unreadable: {exc.strerror or exc}") from exc
    if expected_sha256 is not None and sha256_bytes(data) != expected_sha256:
        raise ModelLoadError(
            f"model file {path} does not match its model card (sha256 differs): "
            "truncated or altered"
        )
    sio = _skops()
    try:
        check_types(sio.get_untrusted_types(data=data), f"model file {path}")
        model = sio.loads(data, trusted=TRUSTED_TYPES)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged file
        raise ModelLoadError(f"model file {path} is not a valid skops file: {exc}") from exc
    check_format(model, path)
    return model


def check_format(model: Any, path: Path) -> None:
    """Refuse a model whose state another volpred wrote: it would load, then fail to forecast."""
    from volpred.model.final import MODEL_FORMAT, VolpredModel

    found = getattr(model, "format", 1)
    if isinstance(model, VolpredModel) and found != MODEL_FORMAT:
        raise ModelLoadError(
            f"model file {path} has model format {found}; this volpred reads format "
            f"{MODEL_FORMAT}: train again (`volpred train`, or `make run`)"
        )


def load_version(artifacts_dir: Path, version: str | None = None) -> tuple[Any, ModelCard]:
    """The model and card of `version` (default: `latest`), verified against each other."""
    version = version or latest_version(artifacts_dir)
    folder = artifacts_dir / "models" / version
    card = read_card(folder / CARD_FILE)
    model = load_file(folder / MODEL_FILE, card.model_sha256)
    return model, card
