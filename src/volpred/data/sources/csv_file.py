"""A user's CSV in the canonical raw schema (columns by name, any order, optional ones absent)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from volpred.data.rawcsv import read_raw_csv, summarize
from volpred.data.schema import DATE
from volpred.data.sources.base import SourceError, SourceResult

if TYPE_CHECKING:
    from volpred.config import Settings

NAME = "csv"


def load(settings: Settings, since: date | None = None, session: Any = None) -> SourceResult:
    """Parse the whole file strictly; any unparsable cell refuses it, named by line and column.

    A half-understood file is worse than none: a shifted column or a comma decimal would
    otherwise turn into plausible-looking nulls far downstream.
    """
    path = settings.csv_path
    if not path.is_file():
        raise SourceError(NAME, str(path), "file not found (set --path or VOLPRED_CSV_PATH)")
    parsed = read_raw_csv(path)
    if parsed.problems:
        raise SourceError(
            NAME, str(path), "the file does not parse:\n" + summarize(parsed.problems)
        )
    notes = [f"separator {parsed.separator!r}, date format {parsed.date_format}"]
    dates = parsed.frame[DATE]
    if not dates.is_sorted():
        notes.append("rows were not in date order: sorted")
    if repeated := int(dates.is_duplicated().sum()):
        notes.append(f"{repeated} rows share a date with another (clean_data keeps the last)")
    if parsed.extra_columns:
        notes.append(f"ignored columns not in the canonical schema: {parsed.extra_columns}")
    return SourceResult(parsed.frame, NAME, [path.resolve().as_uri()], notes)
