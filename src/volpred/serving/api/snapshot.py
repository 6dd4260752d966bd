"""What one API worker serves: a snapshot of the served model and the data around it, swapped
whole when the `latest` pointer or the cleaned data change.

A watcher thread per worker checks both every `api_reload_interval` seconds (a file read and a
stat) and loads the new snapshot beside the old one; requests keep using the old one until the
swap, so a promotion never fails a request and needs no restart. A version that cannot be
loaded (truncated, altered, untrusted types, a pointer to nothing) is not retried until
something changes: the previous snapshot stays in service and `/ready` says what happened.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from volpred.config import Settings
from volpred.model import store
from volpred.model.forecaster import Forecaster, load_forecaster

log = logging.getLogger("volpred.serving.api")

Signature = tuple[str | None, tuple[int, int] | None]
#: What a damaged or missing model or data file raises while loading.
LOAD_ERRORS = (store.ModelLoadError, OSError, ValueError, pl.exceptions.PolarsError)


class ResponseCache:
    """Rendered answers (figures, tables) of one snapshot, bounded by total bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_make(self, key: Any, make: Callable[[], tuple[bytes, str]]) -> tuple[bytes, str]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            if key not in self._items and len(value[0]) <= self.max_bytes:
                self._items[key] = value
                self._size += len(value[0])
                while self._size > self.max_bytes:
                    _, (old, _) = self._items.popitem(last=False)
                    self._size -= len(old)
        return value


@dataclass
class Snapshot:
    forecaster: Forecaster
    table: pl.DataFrame
    oos: pl.DataFrame | None
    cleaning_report: dict[str, Any]
    raw_meta: dict[str, Any]
    signature: Signature
    loaded_at: str
    cache: ResponseCache = field(default_factory=ResponseCache)

    @property
    def version(self) -> str:
        return self.forecaster.version


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def signature(settings: Settings) -> Signature:
    """What a snapshot depends on: the served version's name and the cleaned data's stat."""
    try:
        version = (settings.artifacts_dir / store.LATEST).read_text(encoding="utf-8").strip()
    except OSError:
        version = None
    try:
        st = settings.cleaned_parquet_path.stat()
        cleaned = (st.st_mtime_ns, st.st_size)
    except OSError:
        cleaned = None
    return version, cleaned


def load_snapshot(settings: Settings, sig: Signature) -> Snapshot:
    version = sig[0]
    if not version:
        raise store.ModelLoadError("no model is served yet: run the pipeline (volpred run)")
    if sig[1] is None:
        raise store.ModelLoadError("no cleaned data yet: run the pipeline (volpred run)")
    table = pl.read_parquet(settings.cleaned_parquet_path).sort("date")
    forecaster = load_forecaster(settings, version, table)
    oos_path = store.version_dir(settings.artifacts_dir, version) / store.PREDICTIONS_FILE
    oos = pl.read_parquet(oos_path).sort("date") if oos_path.is_file() else None
    return Snapshot(
        forecaster=forecaster,
        table=table,
        oos=oos,
        cleaning_report=_read_json(settings.cleaning_report_path),
        raw_meta=_read_json(settings.raw_meta_path),
        signature=sig,
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


class Served:
    """The current snapshot of one worker process and the watcher that renews it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: Snapshot | None = None
        self.error: str | None = None  # why the newest state could not be loaded
        self._failed: Signature | None = None
        self._lock = threading.Lock()
        self._watcher_pid: int | None = None

    def public(self, message: str) -> str:
        """`message` without absolute paths of this machine (they belong in the log only)."""
        for folder in (self.settings.artifacts_dir, self.settings.data_dir):
            message = message.replace(str(folder.resolve()), folder.name)
        return message

    def refresh(self) -> bool:
        """Load a new snapshot if what it depends on changed; returns whether it swapped."""
        sig = signature(self.settings)
        current = self.current
        if current is not None and current.signature == sig:
            self.error = self._failed = None  # back to what is served (a bad version withdrawn)
            return False
        if sig == self._failed:
            return False
        with self._lock:
            if self.current is not current:  # another thread just swapped
                return False
            started = time.perf_counter()
            try:
                snapshot = load_snapshot(self.settings, sig)
            except LOAD_ERRORS as exc:
                self._failed = sig
                self.error = self.public(str(exc))
                if current is None:
                    log.error("api: nothing to serve: %s", exc)
                else:
                    log.error(
                        "api: keeping model %s; could not load the new state: %s",
                        current.version,
                        exc,
                    )
                return False
            self.current, self.error, self._failed = snapshot, None, None
        log.info(
            "api: serving model %s, data %s .. %s (loaded in %.2f s)",
            snapshot.version,
            snapshot.forecaster.dates[0],
            snapshot.forecaster.latest_date,
            time.perf_counter() - started,
        )
        return True

    def snapshot(self) -> Snapshot | None:
        """The snapshot to answer with; starts this process's watcher on first use (after a
        fork, threads of the parent are gone, so it is per process)."""
        if self._watcher_pid != os.getpid():
            self._watcher_pid = os.getpid()
            threading.Thread(target=self._watch, name="volpred-model-watcher", daemon=True).start()
            if self.current is None:
                self.refresh()
        return self.current

    def _watch(self) -> None:
        while True:
            time.sleep(self.settings.api_reload_interval)
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the watcher must outlive any surprise
                log.exception("api: model watcher error")
