"""Chained sources: the user's history file continued by a network source's newer days.

`csv+live` and `csv+fred` exist because the long history and the daily update
usually come from different places: decades in a file (another vendor, an old export) and a feed
that has only recent years (FRED keeps ten years of SP500) or costs a download per request.
`volpred.data.ingest` runs the chain with its incremental machinery; this module holds what is
particular to it:

- the file is read first, strictly, so a malformed history costs no download and fails as the
  `csv` source (the flow does not retry a file that does not parse);
- the previous checkpoint of the chain is continued only when it was built from the same file
  bytes and the same date range (`continues`): otherwise the table is rebuilt from the file, so a
  checkpoint is always what a first run with this file would give, never two files mixed;
- the network source fetches from `overlap_days` stored days before the last one; on the overlap
  its values win and differences are logged as revisions, except where it has none (FRED has
  closes only), which keeps the file's values (`merge_incremental`'s rule);
- a gap between the stored days and the network's first new day is said (note and warning),
  never filled;
- the meta's `parts` say which rows came from the file and which from the network.

When the network source fails, the chain fails too, as `SourceError` named after the chain, so
the flow retries it like any download and the last good checkpoint stays as it was. Falling back
to the file alone would report success with stale data, and ingest results are cached per
trading day, so that stale table would stand until the next day; `--source csv` reads the file
alone when that is what is wanted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from volpred.data.schema import DATE, NUMERIC_COLUMNS
from volpred.data.sources import csv_file
from volpred.data.sources.base import SourceError, SourceResult
from volpred.runtime.storage import sha256_file

if TYPE_CHECKING:
    from volpred.config import Settings

logger = logging.getLogger(__name__)

HISTORY = csv_file.NAME
#: The longest run of business days the exchange has been closed in modern times (September 11
#: to 14, 2001). More missing business days before the network's first new day is a gap.
MAX_CLOSED_BUSINESS_DAYS = 4


@dataclass
class History:
    """The history file as one chain run read it: its rows and the bytes they came from."""

    result: SourceResult
    sha256: str

    @property
    def frame(self) -> pl.DataFrame:
        return self.result.frame

    @property
    def part(self) -> dict[str, Any]:
        """The file's entry in the meta's `parts`; also what `continues` compares."""
        dates = self.frame[DATE]
        return {
            "source": HISTORY,
            "uri": self.result.uris[0],
            "sha256": self.sha256,
            "first_date": str(dates.min()),
            "last_date": str(dates.max()),
            "rows": dates.len(),
        }


def read_history(
    settings: Settings, restrict: Callable[[pl.DataFrame, Settings], pl.DataFrame]
) -> History:
    """The file through the `csv` source, restricted to the configured dates, one row per date.

    Repeated dates are collapsed to the last row in file order, as clean_data would, before the
    overlap is compared: otherwise each copy would count as a revision of the other.
    """
    result = csv_file.load(settings)
    result.notes = [f"history: {note}" for note in result.notes]
    frame = result.frame
    if frame[DATE].is_duplicated().any():
        frame = frame.unique(subset=DATE, keep="last", maintain_order=True)
        result.notes.append("history: the last row of each repeated date is kept")
    frame = restrict(frame, settings)
    if frame.is_empty():
        raise SourceError(
            HISTORY,
            str(settings.csv_path),
            f"the history file has no rows in the requested dates (start {settings.start or '-'}, "
            f"end {settings.end or '-'})",
        )
    result.frame = frame
    return History(result, sha256_file(settings.csv_path))


def continues(meta: dict[str, Any], history: History) -> bool:
    """Whether the previous checkpoint was built from this very history (bytes and range)."""
    parts = meta.get("parts") or []
    return bool(parts) and parts[0] == history.part


def failed(name: str, error: SourceError) -> SourceError:
    """The network half's failure as the chain's own, so the flow retries it as a download."""
    return SourceError(
        name,
        error.uri,
        f"{error.source}: {error.reason} (the history file was not continued and nothing was "
        f"written; --source {HISTORY} reads the file alone)",
    )


def _missing_business_days(last: date, first_new: date) -> int:
    """Business days strictly between the last stored day and the first new one."""
    return pl.select(pl.business_day_count(pl.lit(last), pl.lit(first_new))).item() - 1


def gap_note(network: str, base: pl.DataFrame, fetched: pl.DataFrame) -> str | None:
    """A note (and a warning) when the network's first new day leaves stored days missing."""
    last = base[DATE].max()
    new = fetched.filter(pl.col(DATE) > last)
    if new.is_empty():
        return None
    first_new = new[DATE].min()
    missing = _missing_business_days(last, first_new)
    if missing <= MAX_CLOSED_BUSINESS_DAYS:
        return None
    note = (
        f"gap: {network}'s first new day {first_new} comes {missing} business days after the "
        f"last stored day {last}; those days are missing (nothing was filled in)"
    )
    logger.warning("%s", note)
    return note


def columns_note(network: str, base: pl.DataFrame, fetched: pl.DataFrame) -> str | None:
    """Name the columns the network has no values in while the stored rows have some."""
    absent = [
        c for c in NUMERIC_COLUMNS if fetched[c].null_count() == fetched.height and base[c].count()
    ]
    if not absent:
        return None
    overlap = fetched.filter(pl.col(DATE).is_in(base[DATE].implode())).height
    new = fetched.filter(pl.col(DATE) > base[DATE].max())[DATE]
    said = [f"{network} has no {', '.join(absent)}"]
    if overlap:
        said.append(f"on the {overlap} overlapping days the stored values are kept")
    if new.len():
        said.append(f"the {new.len()} days appended ({new.min()}..{new.max()}) have none")
    return "; ".join(said)


def notes(history: History, base: pl.DataFrame, network: SourceResult) -> list[str]:
    """The file's notes, the network source's, then what the chain found where they meet."""
    found = [
        gap_note(network.source, base, network.frame),
        columns_note(network.source, base, network.frame),
    ]
    return [*history.result.notes, *network.notes, *[note for note in found if note]]


def parts(
    history: History, network: SourceResult, frame: pl.DataFrame, since: date | None
) -> list[dict[str, Any]]:
    """Which rows of the written table came from the file and which from the network.

    A row is the file's when the file has its date (the network may have revised its values on
    the overlap); every other row came from the network, in this run or an earlier one.
    """
    from_file = pl.col(DATE).is_in(history.frame[DATE].implode())
    added = frame.filter(~from_file)[DATE]
    return [
        history.part,
        {
            "source": network.source,
            "uris": network.uris,
            "first_date": str(added.min()) if added.len() else None,
            "last_date": str(added.max()) if added.len() else None,
            "rows": added.len(),
            "fetched_since": str(since) if since else None,
            "rows_fetched": network.frame.height,
        },
    ]


def describe_parts(parts_: list[dict[str, Any]]) -> str:
    """One log line: each part's source, date range and row count."""
    return "; ".join(
        f"{p['source']} {p['first_date']}..{p['last_date']} ({p['rows']} rows)"
        if p["rows"]
        else f"{p['source']} no rows"
        for p in parts_
    )
