"""The offline record of runs and alerts: JSON lines under `Settings.alerts_folder`
(`<data_dir>/alerts` unless VOLPRED_ALERTS_DIR says otherwise).

`facts.jsonl` holds one line per run (its facts, thresholds included: the jump check reads
the last one), `alerts.jsonl` one line per alert raised (by the checks, or by a failed run's
hook). Lines are appended whole with one write each, so a reader never sees half a record;
the API's /alerts and the dashboard's Alerts page read them, with or without a Prefect server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from volpred.config import Settings

FACTS_FILE = "facts.jsonl"
ALERTS_FILE = "alerts.jsonl"


def _append(path: Path, records: Iterable[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(r, default=str, sort_keys=True) + "\n" for r in records)
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: each write lands at the end even when two runs append at once.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, lines.encode("utf-8"))
    finally:
        os.close(fd)


def _tail(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last `limit` records, newest first; a line that does not parse is skipped."""
    if not path.is_file():
        return []
    out = []
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
        if len(out) >= limit:
            break
    return out


def append_facts(settings: Settings, facts: dict[str, Any]) -> None:
    _append(settings.alerts_folder / FACTS_FILE, [facts])


def last_facts(settings: Settings) -> dict[str, Any] | None:
    """The previous run's facts, or None before the first run."""
    found = _tail(settings.alerts_folder / FACTS_FILE, 1)
    return found[0] if found else None


def append_alerts(settings: Settings, alerts: Iterable[dict[str, Any]]) -> None:
    _append(settings.alerts_folder / ALERTS_FILE, alerts)


def recent_alerts(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    """The newest alerts first."""
    return _tail(settings.alerts_folder / ALERTS_FILE, limit)


def recent_facts(settings: Settings, limit: int = 1) -> list[dict[str, Any]]:
    return _tail(settings.alerts_folder / FACTS_FILE, limit)
