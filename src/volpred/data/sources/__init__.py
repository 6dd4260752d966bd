"""The data sources of ingest_data, by name.

Each module exposes `load(settings, since=None, session=None) -> SourceResult`. Modules are
imported on demand so that the offline default never imports the network stack.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import TYPE_CHECKING, Any

from volpred.data.sources.base import SourceError, SourceResult

if TYPE_CHECKING:
    from volpred.config import Settings

SOURCES: dict[str, str] = {
    "sample": "volpred.data.sources.sample",
    "csv": "volpred.data.sources.csv_file",
    "fred": "volpred.data.sources.fred",
    "stooq": "volpred.data.sources.stooq",
    "live": "volpred.data.sources.live",
}
#: Sources that talk to the network and so support incremental fetches from a date.
INCREMENTAL = frozenset({"fred", "stooq", "live"})


def load(
    name: str, settings: Settings, since: date | None = None, session: Any = None
) -> SourceResult:
    if name not in SOURCES:
        raise SourceError(name, "-", f"unknown source; choose one of {', '.join(SOURCES)}")
    module = importlib.import_module(SOURCES[name])
    return module.load(settings, since=since, session=session)


__all__ = ["INCREMENTAL", "SOURCES", "SourceError", "SourceResult", "load"]
