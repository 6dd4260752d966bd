"""ingest_data: fetch from the configured source, merge incrementally, write the raw checkpoint.

The raw checkpoint (`raw_market.csv` + `raw_market.meta.json`) is only ever replaced by a
complete, non-empty, canonical table; any failure before the atomic rename leaves the previous
one byte-for-byte intact.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from volpred.config import Settings
from volpred.data import sources
from volpred.data.rawcsv import read_raw_csv
from volpred.data.schema import DATE, NUMERIC_COLUMNS, REQUIRED_COLUMNS
from volpred.data.sources import SourceError, SourceResult, chained
from volpred.runtime.storage import read_json, sha256_file, staged_writes, write_csv, write_json

log = logging.getLogger(__name__)
#: Relative change below which a re-fetched value counts as the same (float round-trips).
REVISION_TOLERANCE = 1e-9


@dataclass
class IngestResult:
    path: Path
    meta_path: Path
    source: str
    uris: list[str]
    rows: int
    rows_fetched: int
    first_date: date
    last_date: date
    sha256: str
    synthetic: bool
    revisions: int = 0
    incremental_since: date | None = None
    notes: list[str] = field(default_factory=list)
    #: Which rows came from where: per source, its date range and row count.
    parts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def _previous(settings: Settings) -> tuple[pl.DataFrame, dict[str, Any]] | None:
    """The last good checkpoint of the same source, if it is readable; else None (full fetch)."""
    meta = read_json(settings.raw_meta_path)
    if meta is None or not settings.raw_path.is_file() or meta.get("source") != settings.source:
        return None
    parsed = read_raw_csv(settings.raw_path)
    if parsed.problems or parsed.frame.height == 0:
        log.warning("previous raw checkpoint %s is unreadable; fetching in full", settings.raw_path)
        return None
    return parsed.frame, meta


def _restrict(frame: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    if settings.start is not None:
        frame = frame.filter(pl.col(DATE) >= settings.start)
    if settings.end is not None:
        frame = frame.filter(pl.col(DATE) <= settings.end)
    return frame.filter(pl.col(DATE).is_not_null()).sort(DATE)


def _check_delivery(result: SourceResult, uri: str) -> None:
    """An empty or hollow answer is a failed download, never a table to pass on."""
    frame = result.frame
    if frame.height == 0:
        raise SourceError(result.source, uri, "the source returned no rows for the requested dates")
    hollow = [c for c in REQUIRED_COLUMNS if frame[c].null_count() == frame.height]
    if hollow:
        raise SourceError(result.source, uri, f"the answer has no values in {hollow}")


def find_revisions(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Cells on dates present in both frames whose value changed (a revision by the source)."""
    joined = old.join(new, on=DATE, how="inner", suffix="__new")
    changes = []
    for column in NUMERIC_COLUMNS:
        a, b = pl.col(column), pl.col(f"{column}__new")
        differs = (a.is_null() != b.is_null()) | (
            (a - b).abs() > REVISION_TOLERANCE * pl.max_horizontal(a.abs(), b.abs(), pl.lit(1.0))
        )
        changes.append(
            joined.filter(differs & b.is_not_null()).select(
                DATE, pl.lit(column).alias("column"), a.alias("old"), b.alias("new")
            )
        )
    return pl.concat(changes).sort(DATE, "column")


def merge_incremental(old: pl.DataFrame, new: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Append new days and apply revisions on the overlap; old days the source no longer sends
    are kept. A value the source now leaves empty does not erase a stored one."""
    revisions = find_revisions(old, new)
    merged = (
        pl.concat([old, new], how="vertical")
        .group_by(DATE, maintain_order=True)
        .agg([pl.col(c).drop_nulls().last() for c in NUMERIC_COLUMNS])
        .sort(DATE)
    )
    return merged.select(old.columns), revisions


def _base(settings: Settings) -> tuple[pl.DataFrame | None, chained.History | None]:
    """What the fetched rows are merged onto, and a chained source's history file.

    A network source continues its previous checkpoint. A chained source continues its
    checkpoint only when that was built from the same history (`chained.continues`); otherwise
    the file itself is the base, as on a first run.
    """
    previous = _previous(settings) if settings.source in sources.INCREMENTAL else None
    if settings.source not in sources.CHAINED:
        return (previous[0] if previous is not None else None), None
    history = chained.read_history(settings, _restrict)
    if previous is not None and chained.continues(previous[1], history):
        return _restrict(previous[0], settings), history
    if previous is not None:
        log.info("ingest_data: the history file or date range changed; rebuilding from it")
    return history.frame, history


def _fetch(settings: Settings, since: date | None, session: Any) -> SourceResult:
    """The (network) source's answer from `since`, restricted to the configured dates, checked."""
    network = sources.CHAINED.get(settings.source)
    try:
        result = sources.load(network or settings.source, settings, since=since, session=session)
        result.frame = _restrict(result.frame, settings)
        _check_delivery(result, ", ".join(result.uris))
    except SourceError as exc:
        if network is None:
            raise
        raise chained.failed(settings.source, exc) from exc
    return result


def _whole(result: SourceResult, frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The meta's `parts` of a single source: every row came from it."""
    dates = frame[DATE]
    return [
        {
            "source": result.source,
            "uris": result.uris,
            "first_date": str(dates.min()),
            "last_date": str(dates.max()),
            "rows": dates.len(),
        }
    ]


def ingest(settings: Settings, session: Any = None) -> IngestResult:
    started = time.perf_counter()
    log.info("ingest_data start: source=%s", settings.source)
    base, history = _base(settings)
    since = None
    if base is not None:
        dates = base[DATE]
        since = dates[max(0, dates.len() - settings.overlap_days)]

    result = _fetch(settings, since, session)
    fetched = result.frame
    uri = ", ".join(result.uris)
    log.info("ingest_data: %d rows downloaded from %s", fetched.height, uri)

    frame, revisions = fetched, 0
    if base is not None:
        if history is None and fetched[DATE].min() > base[DATE].max():
            raise SourceError(
                result.source,
                uri,
                f"no overlap with the stored data (stored up to {base[DATE].max()}, the answer "
                f"starts {fetched[DATE].min()}): refusing to leave a gap",
            )
        frame, changed = merge_incremental(base, fetched)
        revisions = changed.height
        for row in changed.head(20).iter_rows(named=True):
            log.warning(
                "revision %s %s: %s -> %s", row[DATE], row["column"], row["old"], row["new"]
            )
        if revisions:
            log.warning("ingest_data: %d revised values applied", revisions)

    if history is None or base is None:
        source, uris, notes, parts = result.source, result.uris, result.notes, _whole(result, frame)
    else:
        source = settings.source
        uris = [*history.result.uris, *result.uris]
        notes = chained.notes(history, base, result)
        parts = chained.parts(history, result, frame, since)
    log.info("ingest_data: rows by source: %s", chained.describe_parts(parts))

    # The csv and its meta (which records the csv's hash) replace the previous pair together.
    with staged_writes() as stage:
        staged_csv = stage(settings.raw_path, write_csv(frame))
        out = IngestResult(
            path=settings.raw_path,
            meta_path=settings.raw_meta_path,
            source=source,
            uris=uris,
            rows=frame.height,
            rows_fetched=fetched.height,
            first_date=frame[DATE].min(),
            last_date=frame[DATE].max(),
            sha256=sha256_file(staged_csv),
            synthetic=result.synthetic,
            revisions=revisions,
            incremental_since=since,
            notes=notes,
            parts=parts,
        )
        meta = out.as_dict() | {"fetched_at": datetime.now(UTC).isoformat()}
        stage(settings.raw_meta_path, write_json(meta))
    for note in notes:
        log.info("ingest_data: %s", note)
    log.info(
        "ingest_data end: %d rows %s..%s -> %s in %.2f s",
        out.rows,
        out.first_date,
        out.last_date,
        out.path,
        time.perf_counter() - started,
    )
    return out
