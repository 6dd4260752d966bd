"""ingest_data's two checkpoints beside the market table: daily realized measures
(`data/realized.parquet`) and macro observations with their availability dates
(`data/macro.parquet`), each written together with its meta file or not at all.

Where each comes from, in order of precedence:
- realized: a daily measures file (`VOLPRED_REALIZED_PATH`), intraday bars
  (`VOLPRED_BARS_PATH`), or, for the `sample` source, its own synthetic 5-minute bars written
  under `data/sample_bars/` and read back like a user's archive; otherwise none.
- macro (`VOLPRED_MACRO_SOURCE=auto`): a folder of FRED files (`VOLPRED_MACRO_DIR`), the
  `sample` source's synthetic folder (`data/sample_macro/`), or FRED itself for the network
  sources; otherwise none. `fred` always downloads, `none` ingests no macro series.

"None" is a checkpoint too (an empty table whose meta says why), so clean_data always joins
what the current configuration delivered and never a stale file of an earlier one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from volpred.config import Settings
from volpred.data import macro, realized, sources
from volpred.data.ingest import IngestResult, ingest
from volpred.runtime.storage import sha256_file, staged_writes, write_json, write_parquet

log = logging.getLogger(__name__)

#: Computes daily measures from a bars file or folder (the flow passes its fanned-out version).
BarsComputer = Callable[[Path, Settings], realized.RealizedResult]


@dataclass
class AuxiliaryResult:
    """What one auxiliary checkpoint holds, for task results and logs."""

    name: str
    path: Path
    meta_path: Path
    kind: str
    source_uri: str | None
    rows: int
    first_date: str | None
    last_date: str | None
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def _write(frame: pl.DataFrame, path: Path, meta_path: Path, meta: dict[str, Any]) -> None:
    with staged_writes() as stage:
        stage(path, write_parquet(frame))
        stage(meta_path, write_json(meta))


def _span(frame: pl.DataFrame, column: str) -> tuple[str | None, str | None]:
    if frame.is_empty():
        return None, None
    return str(frame[column].min()), str(frame[column].max())


def _series_span(frame: pl.DataFrame, series: str) -> dict[str, Any]:
    rows = frame.filter(pl.col("series") == series)
    first, last = _span(rows, "obs_date")
    return {"first": first, "last": last, "observations": rows.height}


def _measures(settings: Settings, bars: BarsComputer) -> tuple[realized.RealizedResult, bool]:
    if settings.realized_path is not None:
        return realized.read_daily_measures(settings.realized_path, settings), False
    if settings.bars_path is not None:
        return bars(Path(settings.bars_path), settings), False
    if settings.source == "sample":
        from volpred.data.sources.sample import write_sample_bars

        folder = write_sample_bars(settings.data_dir / "sample_bars", settings)
        return bars(folder, settings.with_overrides(bars_path=folder)), True
    empty = realized.RealizedResult(realized.empty_measures(), "", "daily-file")
    empty.notes.append("no realized measures configured (VOLPRED_REALIZED_PATH or _BARS_PATH)")
    return empty, False


def ingest_realized(
    settings: Settings, bars: BarsComputer = realized.measures_from_bars
) -> AuxiliaryResult:
    """Daily realized measures into `data/realized.parquet` (+ `realized.meta.json`)."""
    started = time.perf_counter()
    result, synthetic = _measures(settings, bars)
    kind = result.kind if result.source_uri else "none"
    first, last = _span(result.frame, "date")
    summary = result.as_dict() | {"kind": kind, "synthetic": synthetic}
    meta = summary | {"written_at": datetime.now(UTC).isoformat()}
    if settings.realized_path is not None:
        meta["input_sha256"] = sha256_file(Path(settings.realized_path))
    _write(result.frame, settings.realized_checkpoint, settings.realized_meta_path, meta)
    for note in result.notes:
        log.info("ingest_data: realized measures: %s", note)
    if result.dropped_days:
        log.warning(
            "ingest_data: realized measures: %d day(s) dropped, e.g. %s",
            len(result.dropped_days),
            summary["dropped_days"][:3],
        )
    log.info(
        "ingest_data: realized measures (%s) from %s: %d days %s..%s -> %s in %.2f s",
        kind,
        result.source_uri or "-",
        result.frame.height,
        first,
        last,
        settings.realized_checkpoint,
        time.perf_counter() - started,
    )
    return AuxiliaryResult(
        name="realized",
        path=settings.realized_checkpoint,
        meta_path=settings.realized_meta_path,
        kind=kind,
        source_uri=result.source_uri or None,
        rows=result.frame.height,
        first_date=first,
        last_date=last,
        synthetic=synthetic,
        notes=list(result.notes),
    )


def _macro_result(settings: Settings, session: Any) -> macro.MacroResult | None:
    if settings.macro_source == "none":
        return None
    specs = macro.macro_specs(settings)
    options = {
        "calendar": settings.macro_calendar,
        "min_years": settings.macro_min_years,
        "start": settings.start,
        "end": settings.end,
    }
    if settings.macro_source == "fred":
        return macro.fetch_macro(specs, settings, session)
    if settings.macro_dir is not None:
        return macro.read_macro_dir(settings.macro_dir, specs, **options)
    if settings.source == "sample":
        folder = settings.data_dir / "sample_macro"
        macro.write_sample_macro(folder, settings)
        return macro.read_macro_dir(folder, specs, **options)
    if settings.source in sources.INCREMENTAL:
        return macro.fetch_macro(specs, settings, session)
    return None


def ingest_macro(settings: Settings, session: Any = None) -> AuxiliaryResult:
    """Macro observations, each with the date it became known, into `data/macro.parquet`."""
    started = time.perf_counter()
    result = _macro_result(settings, session)
    if result is None:
        frame = pl.DataFrame(schema=macro.MACRO_SCHEMA)
        meta: dict[str, Any] = {
            "kind": "none",
            "series": [],
            "notes": [
                "macro series turned off (VOLPRED_MACRO_SOURCE=none)"
                if settings.macro_source == "none"
                else "no macro series for this source without VOLPRED_MACRO_DIR"
            ],
        }
    else:
        frame = result.frame
        meta = {
            "kind": result.source,
            "series": result.series,
            "uris": result.uris,
            "notes": result.notes,
            "short_series": [
                {k: str(v) if k in ("first", "last") else v for k, v in s.items()}
                for s in result.short_series
            ],
            "synthetic": result.synthetic,
            "per_series": {s: _series_span(frame, s) for s in result.series},
        }
    meta["written_at"] = datetime.now(UTC).isoformat()
    _write(frame, settings.macro_checkpoint, settings.macro_meta_path, meta)
    for note in meta["notes"]:
        log.info("ingest_data: macro: %s", note)
    first, last = _span(frame, "obs_date")
    log.info(
        "ingest_data: macro (%s): %d series, %d observations %s..%s -> %s in %.2f s",
        meta["kind"],
        len(meta["series"]),
        frame.height,
        first,
        last,
        settings.macro_checkpoint,
        time.perf_counter() - started,
    )
    return AuxiliaryResult(
        name="macro",
        path=settings.macro_checkpoint,
        meta_path=settings.macro_meta_path,
        kind=meta["kind"],
        source_uri=", ".join(meta.get("uris", [])) or None,
        rows=frame.height,
        first_date=first,
        last_date=last,
        synthetic=bool(meta.get("synthetic", False)),
        notes=list(meta["notes"]),
    )


def check_settings(settings: Settings) -> None:
    """Raise ValueError naming the setting when the lag rules or the bars' zone are invalid."""
    if settings.macro_source != "none":
        macro.macro_specs(settings)
    if settings.bars_path is not None:
        realized.check_timezone(settings.bars_timezone)


def ingest_all(
    settings: Settings, bars: BarsComputer = realized.measures_from_bars, session: Any = None
) -> tuple[IngestResult, list[AuxiliaryResult]]:
    """ingest_data's three checkpoints: the market table, the realized measures, the macro
    observations (`bars` computes measures from intraday bars; the flow fans it out).

    The settings the realized and macro steps read are checked first, so that a mistake in
    them stops the run before the market table is replaced."""
    check_settings(settings)
    market = ingest(settings, session=session)
    return market, [ingest_realized(settings, bars), ingest_macro(settings, session)]
