"""Checkpoint writes that never leave a half-written file, content hashes, and a run lock.

Every checkpoint is written to a temporary file in the same directory, flushed to disk, then
renamed over the old one: `os.replace` is atomic on POSIX, so a reader (or a crash) sees either
the previous good file or the new complete one, never a mix. A checkpoint of several files
(the raw csv and its meta; the cleaned csv, parquet and report) is staged whole, then renamed
file by file with the replaced ones kept aside until all are in place, so a failed write or
rename leaves the previous set as it was. A failure is a `CheckpointWriteError` naming the file
and the cause ("No space left on device", "Permission denied").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
from filelock import FileLock, Timeout

log = logging.getLogger(__name__)


class CheckpointWriteError(OSError):
    """Writing a checkpoint failed; the previous version of the file is untouched."""


#: How polars (Rust) reports an OS error inside its own exceptions: "... (os error 28)".
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def _write_error(path: Path, exc: BaseException) -> CheckpointWriteError:
    """A clear error naming the checkpoint and the cause ("No space left on device", ...).

    polars raises its own exceptions (not OSError) for a failed parquet write, with the OS error
    only in the text; its errno is recovered from there so that every writer fails alike.
    """
    code = getattr(exc, "errno", None)
    if code is None and (found := _RUST_OS_ERROR.search(str(exc))):
        code = int(found.group(1))
    reason = getattr(exc, "strerror", None) or (os.strerror(code) if code else None)
    reason = reason or f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
    message = f"could not write checkpoint {path}: {reason} (the previous version is unchanged)"
    return CheckpointWriteError(code, message) if code else CheckpointWriteError(message)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stage(path: Path, write: Callable[[Path], None]) -> Path:
    """`write` a complete, flushed temporary file beside `path`; remove it if anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        # mkstemp makes 0600 files; a checkpoint gets the usual mode, as `open` would give.
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


#: What a write callback may raise for an I/O failure: OSError, or polars' own errors.
_WRITE_FAILURES = (OSError, pl.exceptions.PolarsError)


def _commit(staged: list[tuple[Path, Path]]) -> None:
    """Rename every staged file over its target; if one rename fails, put back the targets
    already replaced (from backups: a hard link, or a copy where links are not supported), so
    the group changes all together or not at all."""
    done: list[tuple[Path, Path | None]] = []
    try:
        for tmp, path in staged:
            backup = None
            if path.exists() and len(staged) > 1:
                backup = path.with_name(f".{path.name}.{os.getpid()}.bak.tmp")
                backup.unlink(missing_ok=True)
                try:
                    os.link(path, backup)
                except OSError:  # no hard links on this file system
                    shutil.copy2(path, backup)
            try:
                os.replace(tmp, path)
            except OSError as exc:
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise _write_error(path, exc) from exc
            done.append((path, backup))
    except CheckpointWriteError:
        for path, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, path)
                else:  # the file did not exist before this group
                    path.unlink(missing_ok=True)
            except OSError:
                log.exception("could not put back %s after a failed checkpoint write", path)
        raise
    finally:
        for _, backup in done:
            if backup is not None:
                backup.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_writes() -> Iterator[Callable[[Path, Callable[[Path], None]], Path]]:
    """Write several checkpoint files as one: `stage(path, write)` writes a temporary file
    beside `path` (returned, e.g. to hash it); when the block ends without an error all are
    renamed into place, otherwise none is and the temporary files are removed.

    Raises `CheckpointWriteError` naming the file and the cause when a write or rename fails.
    """
    staged: list[tuple[Path, Path]] = []

    def stage(path: Path, write: Callable[[Path], None]) -> Path:
        path = Path(path)
        try:
            tmp = _stage(path, write)
        except _WRITE_FAILURES as exc:
            raise _write_error(path, exc) from exc
        staged.append((tmp, path))
        return tmp

    try:
        yield stage
        _commit(staged)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` then move the result over `path` in one atomic step."""
    with staged_writes() as stage:
        stage(path, write)
    return Path(path)


def write_csv(frame: pl.DataFrame) -> Callable[[Path], None]:
    """The checkpoint CSV writer. Fixed formatting keeps the file stable across runs."""
    return lambda tmp: frame.write_csv(tmp, date_format="%Y-%m-%d")


def write_json(obj: Any) -> Callable[[Path], None]:
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    return lambda tmp: tmp.write_bytes(text.encode("utf-8"))


def write_parquet(frame: pl.DataFrame) -> Callable[[Path], None]:
    return lambda tmp: frame.write_parquet(tmp, statistics=False)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> Path:
    return atomic_write(path, write_json(obj))


def atomic_write_csv(path: Path, frame: pl.DataFrame) -> Path:
    return atomic_write(path, write_csv(frame))


def atomic_write_parquet(path: Path, frame: pl.DataFrame) -> Path:
    return atomic_write(path, write_parquet(frame))


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
