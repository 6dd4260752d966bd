"""The data sources of ingest_data, by name.

Each module exposes `load(settings, since=None, session=None) -> SourceResult`. Modules are
imported on demand so that the offline default never imports the network stack. A chained
source (`CHAINED`) is the `csv` source's history continued by a network source; ingest_data
runs the pair (see `volpred.data.sources.chained`).
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
#: Chained source -> the network source that continues the history file. Stooq alone has no
#: VIX, which every row needs: `csv+live` is the Stooq chain, with FRED's VIX and rates.
CHAINED: dict[str, str] = {"csv+live": "live", "csv+fred": "fred"}
#: Sources that talk to the network and so support incremental fetches from a date (and whose
#: download failures the flow retries).
INCREMENTAL = frozenset({"fred", "stooq", "live", *CHAINED})


def load(
    name: str, settings: Settings, since: date | None = None, session: Any = None
) -> SourceResult:
    if name in CHAINED:
        raise SourceError(
            name, "-", f"a chained source is read by ingest_data: load 'csv' and {CHAINED[name]!r}"
        )
    if name not in SOURCES:
        choices = ", ".join([*SOURCES, *CHAINED])
        raise SourceError(name, "-", f"unknown source; choose one of {choices}")
    module = importlib.import_module(SOURCES[name])
    return module.load(settings, since=since, session=session)


__all__ = ["CHAINED", "INCREMENTAL", "SOURCES", "SourceError", "SourceResult", "load"]
