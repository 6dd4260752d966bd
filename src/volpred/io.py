"""Checkpoint writes that never leave a half-written file, content hashes, and a run lock.

Every checkpoint is written to a temporary file in the same directory, flushed to disk, then
renamed over the old one: `os.replace` is atomic on POSIX, so a reader (or a crash) sees either
the previous good file or the new complete one, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
from filelock import FileLock, Timeout


class CheckpointWriteError(OSError):
    """Writing a checkpoint failed; the previous version of the file is untouched."""


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` then move the result over `path` in one atomic step."""
    path = Path(path)
    try:
        with _temp_beside(path) as tmp:
            write(tmp)
            # mkstemp makes 0600 files; a checkpoint gets the usual mode, as `open` would give.
            os.chmod(tmp, 0o666 & ~_umask())
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    except OSError as exc:
        raise CheckpointWriteError(
            exc.errno, f"could not write checkpoint {path}: {exc.strerror or exc}"
        ) from exc
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_csv(path: Path, frame: pl.DataFrame) -> Path:
    # Fixed float formatting keeps the file stable across runs (same content -> same hash).
    return atomic_write(path, lambda tmp: frame.write_csv(tmp, date_format="%Y-%m-%d"))


def atomic_write_parquet(path: Path, frame: pl.DataFrame) -> Path:
    return atomic_write(path, lambda tmp: frame.write_parquet(tmp, statistics=False))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object at `path`, or None when there is none (a missing sidecar is normal)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


class LockedError(RuntimeError):
    """Another run holds the lock for the same checkpoint directory."""


@contextlib.contextmanager
def run_lock(directory: Path, name: str, timeout: float) -> Iterator[None]:
    """Serialise writers of one checkpoint directory (a scheduled and a manual run, say).

    Waits up to `timeout` seconds, then refuses with a message naming the lock file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lock_path = directory / f".{name}.lock"
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise LockedError(
            f"another volpred run is writing {directory} (lock {lock_path} held for more than "
            f"{timeout:.0f} s); wait for it to finish and retry"
        ) from exc
    try:
        yield
    finally:
        lock.release()
