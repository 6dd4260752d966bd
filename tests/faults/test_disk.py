"""Disk full / permission denied while writing each checkpoint.

The OSError is injected at the write layer, for one target file at a time:
- "disk full": ENOSPC when the temporary file is flushed (`os.fsync`), where a full disk (or a
  quota, or NFS) reports it for data the kernel had buffered; one test also makes the kernel
  refuse the writes themselves (RLIMIT_FSIZE: EFBIG inside polars' native writers);
- "no permission to create": EACCES creating the temporary file beside the target;
- "no permission to replace": EACCES renaming the complete file over the target.
Each time: a clear error naming the file and the cause, every checkpoint file byte-identical to
before (a multi-file checkpoint changes all together or not at all), no temporary files left,
and the next run without the fault succeeds.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import resource
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.support.markets import make_raw
from tests.support.runs import fast_settings
from volpred.config import Settings
from volpred.data.clean import clean
from volpred.data.ingest import ingest
from volpred.model import candidate
from volpred.runtime.storage import CheckpointWriteError

pytestmark = pytest.mark.faults

REAL_FSYNC, REAL_MKSTEMP, REAL_REPLACE = os.fsync, tempfile.mkstemp, os.replace


def snapshot(*roots: Path) -> dict[Path, str]:
    """sha256 of every file under `roots` (lock files aside: they are not checkpoints)."""
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".lock"):
                files[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def compare(before: dict[Path, str], roots: tuple[Path, ...]) -> tuple[int, list[Path]]:
    """(checkpoint files changed or vanished, files that appeared) since `before`."""
    after = snapshot(*roots)
    lost = sum(after.get(path) != sha for path, sha in before.items())
    return lost, sorted(p for p in after if p not in before)


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def inject(monkeypatch: pytest.MonkeyPatch, kind: str, target: str) -> Callable[[], int]:
    """Make writes of the checkpoint named `target` fail with `kind`; returns a hit counter.

    Temporary files are named `.<target>.<random>.tmp` beside the target, which is how the
    patched calls recognise the file being written.
    """
    hits = [0]
    prefix = f".{target}."

    def fsync(fd: int) -> None:
        if Path(_fd_path(fd)).name.startswith(prefix):
            hits[0] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        REAL_FSYNC(fd)

    def mkstemp(*args, **kwargs):  # noqa: ANN002, ANN003
        if kwargs.get("prefix") == prefix:
            hits[0] += 1
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), kwargs.get("dir"))
        return REAL_MKSTEMP(*args, **kwargs)

    def replace(src, dst, **kwargs):  # noqa: ANN001, ANN003
        if Path(dst).name == target and Path(src).name.startswith(prefix):
            hits[0] += 1
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(src))
        return REAL_REPLACE(src, dst, **kwargs)

    patch = {"ENOSPC": ("fsync", fsync), "EACCES-create": ("mkstemp", mkstemp)}
    patch["EACCES-replace"] = ("replace", replace)
    name, fake = patch[kind]
    monkeypatch.setattr(tempfile if name == "mkstemp" else os, name, fake)
    return lambda: hits[0]


KINDS = {
    "ENOSPC": ("disk full while flushing", "No space left on device"),
    "EACCES-create": ("permission denied creating temp file", "Permission denied"),
    "EACCES-replace": ("permission denied replacing the file", "Permission denied"),
}


def assert_clear(err: CheckpointWriteError, path: Path, cause: str) -> str:
    message = str(err)
    assert f"could not write checkpoint {path}: {cause}" in message, message
    assert "previous version is unchanged" in message
    assert err.errno in (errno.ENOSPC, errno.EACCES, errno.EFBIG)
    return message


def no_leftovers(new: list[Path]) -> None:
    assert not new, f"files left behind: {new}"


# -- ingest_data and clean_data ------------------------------------------------------------------


@pytest.fixture
def two_csvs(tmp_path: Path) -> tuple[Path, Path]:
    """Two different source files, so a write that got through would show."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    make_raw(300, seed=1).write_csv(a)
    make_raw(320, seed=2).write_csv(b)
    return a, b


RAW_TARGETS = ["raw_market.csv", "raw_market.meta.json"]
CLEAN_TARGETS = ["cleaned_data.parquet", "cleaned_data.csv", "cleaning_report.json"]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("target", RAW_TARGETS)
def test_raw_checkpoint_write_fails(settings, two_csvs, monkeypatch, kind, target, fault_report):
    a, b = two_csvs
    ingest(settings.with_overrides(source="csv", csv_path=a))
    roots = (settings.data_dir,)
    before = snapshot(*roots)
    fault = inject(monkeypatch, kind, target)
    with pytest.raises(CheckpointWriteError) as caught:
        ingest(settings.with_overrides(source="csv", csv_path=b))
    assert fault() == 1
    what, cause = KINDS[kind]
    message = assert_clear(caught.value, settings.data_dir / target, cause)
    lost, new = compare(before, roots)
    assert lost == 0
    no_leftovers(new)

    monkeypatch.undo()
    assert ingest(settings.with_overrides(source="csv", csv_path=b)).rows == 320
    fault_report(
        f"{what}: {target}",
        "CheckpointWriteError naming file; raw kept",
        message.split("checkpoint ", 1)[1].replace(str(settings.data_dir) + "/", "")[:70],
        checkpoints_lost=lost,
    )


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("target", CLEAN_TARGETS)
def test_cleaned_checkpoint_write_fails(
    settings, two_csvs, monkeypatch, kind, target, fault_report
):
    a, b = two_csvs
    ingest(settings.with_overrides(source="csv", csv_path=a))
    clean(settings)
    ingest(settings.with_overrides(source="csv", csv_path=b))  # new raw data to clean
    roots = (settings.data_dir,)
    before = snapshot(*roots)
    fault = inject(monkeypatch, kind, target)
    with pytest.raises(CheckpointWriteError) as caught:
        clean(settings)
    assert fault() == 1
    what, cause = KINDS[kind]
    message = assert_clear(caught.value, settings.data_dir / target, cause)
    lost, new = compare(before, roots)
    assert lost == 0  # all three cleaned files are the previous run's, consistently
    no_leftovers(new)

    monkeypatch.undo()
    assert clean(settings).rows_in == 320
    fault_report(
        f"{what}: {target}",
        "CheckpointWriteError naming file; all 3 kept",
        message.split("checkpoint ", 1)[1].replace(str(settings.data_dir) + "/", "")[:70],
        checkpoints_lost=lost,
    )


@pytest.fixture
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """Let the kernel refuse writes past `limit` bytes (EFBIG instead of SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_kernel_refuses_the_cleaned_files_mid_write(
    settings, two_csvs, file_size_limit, fault_report
):
    """No mock: polars' own csv and parquet writers hit a real OS error part way through."""
    a, b = two_csvs
    ingest(settings.with_overrides(source="csv", csv_path=a))
    clean(settings)
    ingest(settings.with_overrides(source="csv", csv_path=b))
    roots = (settings.data_dir,)
    before = snapshot(*roots)
    limit = settings.cleaned_parquet_path.stat().st_size // 2
    file_size_limit(limit)
    try:
        with pytest.raises(CheckpointWriteError) as caught:
            clean(settings)
    finally:
        file_size_limit(resource.RLIM_INFINITY)
    message = assert_clear(caught.value, settings.cleaned_parquet_path, "File too large")
    lost, new = compare(before, roots)
    assert lost == 0
    no_leftovers(new)
    fault_report(
        "kernel EFBIG inside polars' parquet writer",
        "CheckpointWriteError naming file; all 3 kept",
        message.split("checkpoint ", 1)[1].replace(str(settings.data_dir) + "/", "")[:70],
        checkpoints_lost=lost,
    )


# -- train_model (candidate) and save_model (promote) -----------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """One small served model (trained once) and its training result, to train 'again' fast."""
    from volpred.model import training as train_module

    root = tmp_path_factory.mktemp("disk-served")
    settings = fast_settings(root)
    ingest(settings)
    clean(settings)
    results = []
    real_train = train_module.train

    def keep(*args, **kwargs):  # noqa: ANN002, ANN003
        results.append(real_train(*args, **kwargs))
        return results[-1]

    train_module.train = keep
    try:
        candidate.train_candidate(settings)
    finally:
        train_module.train = real_train
    candidate.promote(settings)
    return root, results[0]


@pytest.fixture
def served_copy(trained, tmp_path, monkeypatch) -> Settings:
    """A private copy of the served model; training 'again' returns a slightly different
    result at once (other predictions, new skops bytes), so a write that got through shows."""
    from volpred.model import training as train_module

    root, result = trained
    shutil.copytree(root, tmp_path / "root")
    predictions = result.predictions.with_columns(pl.col(pl.Float64) * 1.0001)
    again = dataclasses.replace(result, predictions=predictions)
    monkeypatch.setattr(train_module, "train", lambda table, settings: again)
    for key in [k for k in os.environ if k.startswith("VOLPRED_")]:
        monkeypatch.delenv(key)
    return fast_settings(tmp_path / "root", interval_level=0.79)


CANDIDATE_TARGETS = [candidate.MODEL, candidate.PREDICTIONS, candidate.CARD]


@pytest.mark.parametrize("kind", ["ENOSPC", "EACCES-replace"])
@pytest.mark.parametrize("target", CANDIDATE_TARGETS)
def test_candidate_write_fails(served_copy, monkeypatch, kind, target, fault_report):
    settings = served_copy
    roots = (settings.data_dir, settings.artifacts_dir)
    before = snapshot(*roots)
    fault = inject(monkeypatch, kind, target)
    with pytest.raises(CheckpointWriteError) as caught:
        candidate.train_candidate(settings)
    assert fault() == 1
    what, cause = KINDS[kind]
    folder = candidate.candidate_dir(settings)
    message = assert_clear(caught.value, folder / target, cause)
    lost, new = compare(before, roots)
    no_leftovers(new)
    # The candidate as a whole is either the previous one or refused by promote: a card
    # never vouches for files it was not written with.
    card = candidate.candidate_card(settings)
    files_match = all(
        hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha
        for name, sha in card.candidate_files.items()
    )
    if not files_match:
        with pytest.raises(Exception, match="does not match its card"):
            candidate.promote(settings)
    served = [p for p in before if p.parent == settings.artifacts_dir or "models" in p.parts]
    served_lost = sum(snapshot(*roots).get(p) != before[p] for p in served)
    assert served_lost == 0

    monkeypatch.undo()
    fault_report(
        f"{what}: candidate/{target}",
        "clear error; served model kept",
        message.split("checkpoint ", 1)[1].replace(str(settings.artifacts_dir) + "/", "")[:60]
        + ("" if files_match else "; stale card refused"),
        checkpoints_lost=served_lost,
    )


#: save_model replaces latest, trained_model.skops and model_card.json together (staged).
PROMOTE_TARGETS = [
    "latest",
    "trained_model.skops",
    "model_card.json",
]


@pytest.mark.parametrize("kind", ["ENOSPC", "EACCES-replace"])
@pytest.mark.parametrize("target", PROMOTE_TARGETS)
def test_promote_write_fails(served_copy, monkeypatch, kind, target, fault_report):
    settings = served_copy
    candidate.train_candidate(settings)
    roots = (settings.artifacts_dir,)
    before = snapshot(*roots)
    served_version = (settings.artifacts_dir / "latest").read_text().strip()
    fault = inject(monkeypatch, kind, target)
    with pytest.raises(CheckpointWriteError) as caught:
        candidate.promote(settings)
    assert fault() == 1
    what, cause = KINDS[kind]
    message = assert_clear(caught.value, settings.artifacts_dir / target, cause)
    lost, new = compare(before, roots)
    latest = (settings.artifacts_dir / "latest").read_text().strip()
    changed = [p.name for p, sha in before.items() if snapshot(*roots).get(p) != sha]
    # Recorded before the last assertions, so that a split served model shows in the table.
    fault_report(
        f"{what}: {target}",
        "clear error; served model kept",
        message.split("checkpoint ", 1)[1].replace(str(settings.artifacts_dir) + "/", "")[:40]
        + (f"; CHANGED {changed}" if changed else ""),
        checkpoints_lost=lost,
    )
    assert latest == served_version, f"latest moved to {latest}; changed: {changed}"
    assert lost == 0, f"the served model's files changed: {changed}"
    assert not [p for p in new if p.suffix == ".tmp"]

    monkeypatch.undo()
    assert candidate.promote(settings).version != served_version


def test_promote_version_folder_write_fails(served_copy, monkeypatch, fault_report):
    """Disk full while save_model writes the new version's folder (models/.<version>.*/)."""
    settings = served_copy
    candidate.train_candidate(settings)
    roots = (settings.artifacts_dir,)
    before = snapshot(*roots)
    staging = str(settings.artifacts_dir / "models" / ".")

    def fsync(fd: int) -> None:
        if _fd_path(fd).startswith(staging):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        REAL_FSYNC(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError) as caught:
        candidate.promote(settings)
    message = str(caught.value)
    lost, new = compare(before, roots)
    named = "models" in message and "No space left on device" in message
    fault_report(
        "disk full while flushing: models/<new version>/",
        "clear error naming the folder; served kept",
        f"{type(caught.value).__name__}: {message[:60]}; {len(new)} new files",
        checkpoints_lost=lost,
    )
    assert lost == 0 and not new
    assert named, message
