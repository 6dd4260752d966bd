"""Daily realized measures of the S&P 500: read from a realized-measures file, or computed from
intraday bars, in one daily layout.

Two inputs, one output (`COLUMNS`, one row per trading day, daily variances in squared log
return units, not annualised, not in percent):

* `read_daily_measures`: a daily file, either the Oxford-Man Realized Library layout (`date`
  as midnight with a UTC offset, `Symbol`, `rv5` and optionally `bv`, `rsv`, ...; the rows of
  `settings.realized_symbol` are kept, `bv` -> bv, `rsv` -> rs_neg) or the canonical layout
  `date, rv5 [, bv, rs_pos, rs_neg, n_bars]`, as CSV or Parquet.
* `measures_from_bars`: 1- or 5-minute OHLC(V) bars, CSV or Parquet, one file or a folder
  (hive-partitioned `date=.../` or `year=.../month=.../`, or plain), computed per New York
  trading day:

  - ``rv5``: the sum of squared 5-minute log returns. The 5-minute price is the last close in
    each interval [09:30, 09:35), ... [15:55, 16:00) (1-minute bars are thereby resampled); the
    first return runs from the day's first price (the open of its first bar, else its close) to
    the first interval's last close. An interval without bars adds no return (previous-tick):
    its move lands in the next observed interval.
  - ``bv``: bipower variation, pi/2 * sum |r_i| |r_{i-1}| over consecutive 5-minute returns of
    the day; ``jump``: max(rv5 - bv, 0).
  - ``rs_pos`` / ``rs_neg``: the sums of r^2 over r > 0 and r < 0 (they add up to rv5).
  - ``n_bars``: the input bars used (in the session, after removing duplicates).
  - ``overnight_ret``: log(the day's first price / the previous trading day's last close in
    the session). Null on the first day, after a dropped day, and after a gap of more than
    `MAX_OVERNIGHT_GAP_DAYS` calendar days without bars (a hole in the data, not a weekend or
    a holiday).

Bar handling, the same for every file format:

* Time: timestamps are converted to New York time, daylight saving time included. Aware
  timestamps (a Parquet timezone, an offset or `Z` in the text) carry their own zone; naive
  ones are read in `settings.bars_timezone` (default New York, exchange time; "UTC" for
  feeds in UTC); integer epochs are UTC. `settings.bars_label` says whether a timestamp is the
  start of its bar (09:30 is 09:30-09:31, the default) or its end (09:31).
* Session: 09:30-16:00 New York. A day whose bars end at 13:00 (its last bar lies in
  12:55-13:00) is a half day with 42 expected 5-minute intervals instead of 78: the close is
  read from the data, not from a holiday calendar. Bars outside the session are dropped and
  counted.
* Order: bars are sorted by time (out-of-order bars counted); bars with the same timestamp
  keep the last one in file order (the others counted as duplicates); zero-volume bars are
  kept for their price and counted.
* Completeness: a day with fewer observed 5-minute intervals than `settings.bars_min_share`
  of its expected ones is dropped, not flagged: a partial day's variance is biased low and
  would pass unnoticed into every feature built on it. Every dropped day is listed in
  `RealizedResult.dropped_days` with its reason.
* Bad input stops the computation with a `RealizedInputError` naming the file and the line (a
  CSV) or the row index (Parquet): a timestamp that is missing or does not parse, a price that
  is missing, not a number or not positive, a negative volume.

Scale-out: `plan_partitions` lists `Partition`s (whole files, grouped so that no trading day
spans two partitions), `measures_for_partition` is a pure function of one partition, and
`combine_partitions` joins their frames and computes the overnight returns, which cross
partition boundaries. `measures_from_bars` runs them in a loop; `volpred.flows.realized` fans
them out over a Prefect task runner (threads or a Dask cluster).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from volpred.data.rawcsv import DATE_FORMATS

if TYPE_CHECKING:
    from volpred.config import Settings

#: The canonical daily layout of a realized-measures file.
CANONICAL: tuple[str, ...] = ("date", "rv5", "bv", "rs_pos", "rs_neg", "n_bars")
#: What both readers return: the canonical layout plus the jump and the overnight return.
COLUMNS: tuple[str, ...] = (*CANONICAL, "jump", "overnight_ret")
SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "rv5": pl.Float64(),
    "bv": pl.Float64(),
    "rs_pos": pl.Float64(),
    "rs_neg": pl.Float64(),
    "n_bars": pl.Int64(),
    "jump": pl.Float64(),
    "overnight_ret": pl.Float64(),
}

EXCHANGE_TZ = "America/New_York"
SESSION_OPEN_MIN = 9 * 60 + 30
SESSION_CLOSE_MIN = 16 * 60
HALF_DAY_CLOSE_MIN = 13 * 60
GRID_MIN = 5
FULL_INTERVALS = (SESSION_CLOSE_MIN - SESSION_OPEN_MIN) // GRID_MIN  # 78
HALF_DAY_INTERVALS = (HALF_DAY_CLOSE_MIN - SESSION_OPEN_MIN) // GRID_MIN  # 42
#: Longest calendar gap to the previous day with bars over which an overnight return is kept
#: (Thursday to Tuesday around a long weekend; the 2012 hurricane closure is 5).
MAX_OVERNIGHT_GAP_DAYS = 5
#: A median daily variance above this (a 5% daily volatility) means percent or annualised units.
MAX_MEDIAN_DAILY_VARIANCE = 0.0025

US_PER_MIN = 60_000_000
US_PER_DAY = 86_400_000_000
_GRID_US = GRID_MIN * US_PER_MIN
_OPEN_US = SESSION_OPEN_MIN * US_PER_MIN
_CLOSE_US = SESSION_CLOSE_MIN * US_PER_MIN
_HALF_DAY_LAST_BUCKET = (HALF_DAY_CLOSE_MIN - GRID_MIN) * US_PER_MIN // _GRID_US

BAR_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv"}
CLOSE_NAMES = ("close", "last", "price", "close_price")
OPEN_NAMES = ("open", "open_price")
VOLUME_NAMES = ("volume", "vol")
#: Canonical and Oxford-Man column names of the daily measures (file name -> ours).
OXFORD_MAN_MAP = {"rv5": "rv5", "bv": "bv", "rsv": "rs_neg"}


class RealizedInputError(ValueError):
    """A realized-measures or bar file that cannot be used; the message names the file and,
    for a bad value, its line (CSV) or row index (Parquet) and column."""

    def __init__(
        self,
        path: str | Path,
        reason: str,
        *,
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.reason = reason
        self.line = line
        self.row = row
        self.column = column
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row} (0-based)")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {reason}")


@dataclass
class RealizedResult:
    """Daily measures (`COLUMNS`, sorted by date, one row per kept day) and what happened.

    `counts` holds totals over the input (rows read, bars out of the session, duplicates,
    out-of-order and zero-volume bars, half days, dropped days...), `dropped_days` one
    `{"date", "reason"}` per trading day left out, `notes` what a reader should know.
    """

    frame: pl.DataFrame
    source_uri: str
    kind: Literal["daily-file", "bars"]
    dropped_days: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no frame) for logs and task results."""
        frame = self.frame
        return {
            "source_uri": self.source_uri,
            "kind": self.kind,
            "days": frame.height,
            "first_date": str(frame["date"].min()) if frame.height else None,
            "last_date": str(frame["date"].max()) if frame.height else None,
            "dropped_days": [{**d, "date": str(d["date"])} for d in self.dropped_days],
            "counts": dict(self.counts),
            "notes": list(self.notes),
        }


def empty_measures() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = [
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in SCHEMA.items()
    ]
    return frame.select(exprs)


def jump_expr() -> pl.Expr:
    """max(rv5 - bv, 0): the part of the day's variance that bipower variation, robust to
    jumps, does not explain."""
    return (pl.col("rv5") - pl.col("bv")).clip(lower_bound=0.0).alias("jump")


# ---------------------------------------------------------------------------------------------
# Daily realized-measures files


def _read_text_table(path: Path) -> pl.DataFrame:
    """Every column as text, with the file's line numbers, so that a bad cell can be named."""
    try:
        if BAR_SUFFIXES.get(path.suffix.lower()) == "parquet":
            frame = pl.read_parquet(path)
            frame = frame.select(pl.all().cast(pl.String))
            return frame.with_row_index("__line").with_columns(pl.col("__line").cast(pl.Int64))
        frame = pl.read_csv(path, infer_schema=False, raise_if_empty=True)
    except FileNotFoundError as exc:
        raise RealizedInputError(path, "no such file") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise RealizedInputError(path, f"not a readable file: {_first_line(exc)}") from exc
    return frame.with_columns(__line=pl.int_range(2, frame.height + 2, dtype=pl.Int64))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_WRITTEN_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)


def _daily_dates(text: pl.Series) -> tuple[pl.Series, str]:
    """The calendar date as written, also when a time and an offset follow (Oxford-Man writes
    local midnight, `2011-03-28 00:00:00+01:00`; in UTC that is the day before, so the offset
    must not be applied)."""
    stripped = text.str.strip_chars()
    head = stripped.str.extract(_WRITTEN_DATE.pattern, 1)
    if head.null_count() == stripped.null_count():
        return head.str.strptime(pl.Date, "%Y-%m-%d", strict=False), "%Y-%m-%d"
    best: tuple[int, pl.Series, str] = (-1, head, "%Y-%m-%d")
    for fmt in DATE_FORMATS:
        parsed = stripped.str.strptime(pl.Date, fmt, strict=False)
        if parsed.null_count() == stripped.null_count():
            return parsed, fmt
        if parsed.len() - parsed.null_count() > best[0]:
            best = (parsed.len() - parsed.null_count(), parsed, fmt)
    return best[1], best[2]


def _number(text: pl.Series) -> pl.Series:
    return text.str.strip_chars().cast(pl.Float64, strict=False)


def read_daily_measures(path: str | Path, settings: Settings) -> RealizedResult:
    """Read a daily realized-measures file (Oxford-Man or canonical layout, CSV or Parquet).

    Cells that are empty (or `NA`, `nan`) mean no value; a day without rv5 is dropped and
    listed. Text that is not a number, a negative variance, a date that does not parse, or a
    file whose median rv5 looks like percent or annualised units is refused with the file,
    line and column. Duplicate dates keep the last row, unsorted dates are sorted (counted).
    """
    path = Path(path)
    text = _read_text_table(path)
    names = {c: c.replace("\ufeff", "").strip().strip('"').lower() for c in text.columns}
    text = text.rename(names)
    notes: list[str] = []
    counts: dict[str, int] = {"rows": text.height}
    date_col = "date" if "date" in text.columns else None
    if date_col is None and text.columns and text.columns[0] in {"", "unnamed: 0", "index"}:
        date_col = text.columns[0]  # the library's own export has an unnamed date index
    if date_col is None or "rv5" not in text.columns:
        missing = [c for c in ("date", "rv5") if c != date_col and c not in text.columns]
        raise RealizedInputError(
            path,
            f"missing column(s) {', '.join(missing)}: expected the Oxford-Man layout (date, "
            "Symbol, rv5, ...) or date, rv5[, bv, rs_pos, rs_neg, n_bars]",
            line=1 if BAR_SUFFIXES.get(path.suffix.lower()) != "parquet" else None,
        )
    if "symbol" in text.columns:
        kind = "Oxford-Man Realized Library"
        symbols = text["symbol"].str.strip_chars()
        wanted = settings.realized_symbol
        keep = symbols == wanted
        if not keep.any():
            present = sorted(s for s in symbols.unique().to_list() if s is not None)[:20]
            raise RealizedInputError(
                path,
                f"no rows for symbol {wanted!r} (VOLPRED_REALIZED_SYMBOL); the file has "
                f"{', '.join(map(repr, present))}",
            )
        counts["other_symbols"] = int((~keep).sum())
        text = text.filter(keep)
        mapping = {src: dst for src, dst in OXFORD_MAN_MAP.items() if src in text.columns}
        ignored = [c for c in text.columns if c not in {date_col, "symbol", "__line", *mapping}]
    else:
        kind = "canonical"
        mapping = {c: c for c in CANONICAL if c != "date" and c in text.columns}
        ignored = [c for c in text.columns if c not in {date_col, "__line", *mapping}]
    notes.append(f"{path.name}: {kind} layout; measures read: {', '.join(mapping)}")
    if ignored:
        notes.append(f"columns not used: {', '.join(ignored)}")

    null_text = ["", "na", "n/a", "nan", "null", "none", "."]
    text = text.with_columns(
        pl.when(pl.col(c).str.strip_chars().str.to_lowercase().is_in(null_text))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in [date_col, *mapping]
    )
    dates, fmt = _daily_dates(text[date_col])
    _refuse_first(
        path, text, date_col, text[date_col].is_not_null() & dates.is_null(), f"not a date ({fmt})"
    )
    _refuse_first(path, text, date_col, text[date_col].is_null(), "date is empty")
    values = {}
    for src, dst in mapping.items():
        number = _number(text[src])
        _refuse_first(path, text, src, text[src].is_not_null() & number.is_null(), "not a number")
        _refuse_first(path, text, src, ~number.is_finite().fill_null(True), "not finite")
        if dst == "n_bars":
            _refuse_first(path, text, src, (number < 0).fill_null(False), "negative count")
        else:
            _refuse_first(path, text, src, (number < 0).fill_null(False), "negative variance")
        values[dst] = number
    frame = pl.DataFrame({"date": dates, **values, "__line": text["__line"]})
    if frame.height and not frame["date"].is_sorted():
        counts["unsorted"] = 1
        notes.append("dates were not in order: sorted")
    frame = frame.sort("date", maintain_order=True)
    deduped = frame.unique("date", keep="last", maintain_order=True)
    counts["duplicates"] = frame.height - deduped.height
    if counts["duplicates"]:
        notes.append(f"{counts['duplicates']} duplicate dates: kept the last row of each")
    frame = deduped
    median = frame["rv5"].median()
    if median is not None and median > MAX_MEDIAN_DAILY_VARIANCE:
        raise RealizedInputError(
            path,
            f"median rv5 is {median:.4g}, a daily volatility of {100 * math.sqrt(median):.1f}%: "
            "rv5 must be a daily variance of log returns (not percent squared, not annualised)",
            column="rv5",
        )
    dropped = frame.filter(pl.col("rv5").is_null() | (pl.col("rv5") == 0))
    dropped_days = [
        {"date": d, "reason": "no rv5 value" if v is None else "rv5 is zero"}
        for d, v in dropped.select("date", "rv5").iter_rows()
    ]
    frame = frame.filter(pl.col("rv5") > 0)
    counts["days"] = frame.height
    counts["dropped_days"] = len(dropped_days)
    if "rs_neg" in frame.columns and "rs_pos" not in frame.columns:
        notes.append("rs_pos is not in the file and left empty")
    frame = _conform(
        frame.drop("__line").with_columns(
            jump_expr() if "bv" in frame.columns else pl.lit(None, pl.Float64).alias("jump")
        )
    )
    return RealizedResult(
        frame=frame,
        source_uri=str(path.resolve()),
        kind="daily-file",
        dropped_days=dropped_days,
        counts=counts,
        notes=notes,
    )


def _refuse_first(path: Path, text: pl.DataFrame, column: str, bad: pl.Series, reason: str) -> None:
    if not bad.any():
        return
    i = int(bad.arg_true()[0])
    value = text[column][i]
    line = int(text["__line"][i])
    parquet = BAR_SUFFIXES.get(path.suffix.lower()) == "parquet"
    raise RealizedInputError(
        path,
        f"{value!r} is {reason}" if value is not None else reason,
        line=None if parquet else line,
        row=line if parquet else None,
        column=column,
    )


# ---------------------------------------------------------------------------------------------
# Intraday bars: files, layout, partitions


@dataclass(frozen=True)
class BarLayout:
    """How to read the bar files of one input: the format and which columns mean what."""

    format: Literal["csv", "parquet"]
    timestamp: tuple[str, ...]  # one column, or (date, time) joined by a space
    close: str
    open: str | None = None
    volume: str | None = None
    time_kind: Literal["datetime", "text", "epoch"] = "datetime"
    text_format: str | None = None  # strptime format of text timestamps
    aware: bool = False  # the timestamps carry a zone or offset: their instant is known
    epoch_unit: Literal["s", "ms", "us", "ns"] | None = None
    separator: str = ","


@dataclass(frozen=True)
class Partition:
    """A unit of work: whole bar files whose trading days no other partition holds."""

    index: int
    files: tuple[str, ...]
    layout: BarLayout
    first_day: date | None = None
    last_day: date | None = None
    rows: int = 0  # estimated input rows, for sizing

    def describe(self) -> str:
        span = f"{self.first_day}..{self.last_day}" if self.first_day else "unknown days"
        return f"partition {self.index}: {len(self.files)} file(s), {span}, ~{self.rows:,} rows"


_HIVE_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def _hive_keys(path: Path, root: Path) -> dict[str, str]:
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = path.parts[:-1]
    return {m.group(1).lower(): m.group(2) for p in parts if (m := _HIVE_PART.match(p))}


def _sort_key(path: Path, root: Path) -> tuple:
    """Hive values in numeric order where they are numbers (month=2 before month=10)."""
    keys = _hive_keys(path, root)
    return (
        tuple((0, int(v), "") if v.isdigit() else (1, 0, v) for v in keys.values()),
        str(path),
    )


def list_bar_files(path: str | Path) -> list[Path]:
    """The bar files of a file or a folder (recursively; hidden and `_`-prefixed entries such
    as `_SUCCESS` are skipped), in hive-key then name order: the order that decides which of
    two bars with the same timestamp is the last."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise RealizedInputError(root, "no such file or folder (VOLPRED_BARS_PATH)")
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in BAR_SUFFIXES
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    ]
    if not files:
        raise RealizedInputError(
            root, f"no bar files ({', '.join(sorted(BAR_SUFFIXES))}) in this folder"
        )
    formats = {BAR_SUFFIXES[p.suffix.lower()] for p in files}
    if len(formats) > 1:
        raise RealizedInputError(root, "the folder mixes CSV and Parquet files; use one format")
    return sorted(files, key=lambda p: _sort_key(p, root))


def _pick(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<sep>[T ])\d{2}:\d{2}(?P<sec>:\d{2})?(?P<frac>\.\d+)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_US = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}[T ]\d{1,2}:\d{2}(?P<sec>:\d{2})?(?P<frac>\.\d+)?$")
_COMPACT = re.compile(r"^\d{8}[T ]?\d{2}:?\d{2}(?::?\d{2})?$")
_EPOCH_DIGITS = re.compile(r"^\d{9,19}$")


def _text_format(value: str) -> tuple[str, bool] | None:
    """The strptime format of a text timestamp, and whether it carries an offset."""
    value = value.strip()
    if m := _ISO.match(value):
        fmt = f"%Y-%m-%d{m['sep']}%H:%M" + (":%S" if m["sec"] else "")
        fmt += "%.f" if m["frac"] else ""
        return fmt + ("%#z" if m["tz"] else ""), bool(m["tz"])
    if m := _US.match(value):
        return "%m/%d/%Y %H:%M" + (":%S" if m["sec"] else "") + ("%.f" if m["frac"] else ""), False
    if _COMPACT.match(value):
        digits = re.sub(r"\D", "", value)
        return ("%Y%m%d%H%M%S" if len(digits) == 14 else "%Y%m%d%H%M"), False
    return None


def _epoch_unit(value: int) -> Literal["s", "ms", "us", "ns"]:
    digits = len(str(abs(int(value))))
    return "s" if digits <= 10 else "ms" if digits <= 13 else "us" if digits <= 16 else "ns"


def detect_layout(files: Sequence[Path]) -> BarLayout:
    """Find the timestamp and price columns from the first file (case-insensitive names:
    timestamp/datetime/time/ts/date, or a date and a time column; close/last/price; open;
    volume) and how its timestamps are written."""
    first = files[0]
    fmt = BAR_SUFFIXES[first.suffix.lower()]
    separator = ","
    try:
        if fmt == "parquet":
            schema = pl.read_parquet_schema(first)
            sample = pl.read_parquet(first, n_rows=5)
        else:
            with first.open("r", encoding="utf-8-sig", errors="replace") as fh:
                header = fh.readline()
            separator = next((s for s in ",;\t|" if s in header), ",")
            sample = pl.read_csv(first, n_rows=5, infer_schema=False, separator=separator)
            schema = sample.schema
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise RealizedInputError(first, f"not a readable bar file: {_first_line(exc)}") from exc
    columns = list(schema)
    close = _pick(columns, CLOSE_NAMES)
    date_col, time_col = _pick(columns, ("date",)), _pick(columns, ("time",))
    ts_col = _pick(columns, ("timestamp", "datetime", "date_time", "ts"))
    if ts_col is None and date_col and time_col:
        timestamp: tuple[str, ...] = (date_col, time_col)
    else:
        ts_col = ts_col or time_col or date_col
        timestamp = (ts_col,) if ts_col else ()
    if close is None or not timestamp:
        what = [n for n, c in (("a close price", close), ("a timestamp", timestamp)) if not c]
        raise RealizedInputError(
            first,
            f"no column for {' and '.join(what)} among {columns}: expected a timestamp (or a "
            "date and a time) column and close (or last/price), optionally open and volume",
            line=1 if fmt == "csv" else None,
        )
    layout = {
        "format": fmt,
        "timestamp": timestamp,
        "close": close,
        "open": _pick(columns, OPEN_NAMES),
        "volume": _pick(columns, VOLUME_NAMES),
        "separator": separator,
    }
    dtype = schema[timestamp[0]]
    if len(timestamp) == 1 and isinstance(dtype, pl.Datetime):
        return BarLayout(**layout, time_kind="datetime", aware=dtype.time_zone is not None)
    if len(timestamp) == 1 and dtype.is_integer():
        values = sample[timestamp[0]].drop_nulls()
        unit = _epoch_unit(values[0]) if values.len() else "s"
        return BarLayout(**layout, time_kind="epoch", aware=True, epoch_unit=unit)
    text = sample.select(_timestamp_text(timestamp)).to_series().drop_nulls()
    if text.len() == 0:
        raise RealizedInputError(first, "the first rows have no timestamp", column=timestamp[0])
    value = text[0]
    if _EPOCH_DIGITS.match(value.strip()):
        unit = _epoch_unit(int(value))
        return BarLayout(**layout, time_kind="epoch", aware=True, epoch_unit=unit)
    found = _text_format(value)
    if found is None:
        raise RealizedInputError(
            first,
            f"{value!r} is not a timestamp this reader knows (ISO 2020-01-02 09:30[:00][+00:00], "
            "US 01/02/2020 09:30, compact 20200102 0930, or an epoch number)",
            line=2 if fmt == "csv" else None,
            row=0 if fmt == "parquet" else None,
            column=timestamp[0],
        )
    return BarLayout(**layout, time_kind="text", text_format=found[0], aware=found[1])


def _timestamp_text(timestamp: tuple[str, ...]) -> pl.Expr:
    if len(timestamp) == 2:
        return pl.concat_str(
            [
                pl.col(timestamp[0]).cast(pl.String).str.strip_chars(),
                pl.col(timestamp[1]).cast(pl.String).str.strip_chars(),
            ],
            separator=" ",
        ).alias("__ts")
    return pl.col(timestamp[0]).cast(pl.String).str.strip_chars().alias("__ts")


def _timestamp_us(layout: BarLayout, strict: bool = True) -> pl.Expr:
    """The timestamp as Int64 microseconds: UTC when `layout.aware`, else naive wall time."""
    if layout.time_kind == "datetime":
        col = pl.col(layout.timestamp[0])
        return col.dt.cast_time_unit("us").dt.timestamp("us").alias("__t")
    scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}
    if layout.time_kind == "epoch":
        raw = pl.col(layout.timestamp[0])
        if not strict:
            raw = raw.cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
        else:
            raw = raw.cast(pl.Int64)
        value = raw // 1_000 if layout.epoch_unit == "ns" else raw * scale[layout.epoch_unit or "s"]
        return value.alias("__t")
    parsed = _timestamp_text(layout.timestamp).str.to_datetime(
        layout.text_format, time_unit="us", strict=strict
    )
    if layout.aware:
        parsed = parsed.dt.replace_time_zone(None)
    return parsed.dt.timestamp("us").alias("__t")


def _scan(files: Sequence[str], layout: BarLayout, *, text: bool = False) -> pl.LazyFrame:
    columns = [*layout.timestamp, layout.close, layout.open, layout.volume]
    wanted = list(dict.fromkeys(c for c in columns if c))
    if layout.format == "parquet":
        lf = pl.scan_parquet(list(files), hive_partitioning=False, missing_columns="raise")
        lf = lf.select(wanted)
        if not text:
            return lf
        typed = set(layout.timestamp) if layout.time_kind == "datetime" else set()
        return lf.select(pl.col(c) if c in typed else pl.col(c).cast(pl.String) for c in wanted)
    overrides: dict[str, pl.DataType] = {c: pl.String for c in wanted}
    if not text:
        overrides |= {c: pl.Float64 for c in (layout.close, layout.open, layout.volume) if c}
    return pl.scan_csv(
        list(files),
        separator=layout.separator,
        schema_overrides=overrides,
        infer_schema=False,
        encoding="utf8-lossy",
    ).select(wanted)


def _bar_columns(layout: BarLayout, strict: bool = True) -> list[pl.Expr]:
    """The four columns the computation reads: `__t`, `close`, `open`, `volume` (Float64)."""

    def number(name: str | None, alias: str) -> pl.Expr:
        if name is None:
            return pl.lit(None, pl.Float64).alias(alias)
        col = pl.col(name)
        if not strict:
            col = col.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        return col.cast(pl.Float64).alias(alias)

    return [
        _timestamp_us(layout, strict),
        number(layout.close, "close"),
        number(layout.open, "open"),
        number(layout.volume, "volume"),
    ]


def _file_rows(path: Path, layout: BarLayout) -> int:
    if layout.format == "parquet":
        try:
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - an estimate; reading reports real problems
            return max(1, path.stat().st_size // 16)
    return max(1, path.stat().st_size // 48)


def _hive_span(keys: dict[str, str]) -> tuple[date, date] | None:
    """The days a hive path covers (date=YYYY-MM-DD, or year[/month[/day]])."""
    try:
        if "date" in keys:
            day = date.fromisoformat(keys["date"][:10])
            return day, day
        if "year" in keys:
            year = int(keys["year"])
            if "month" in keys:
                month = int(keys["month"])
                if "day" in keys:
                    day = date(year, month, int(keys["day"]))
                    return day, day
                nxt = date(year + (month == 12), month % 12 + 1, 1)
                return date(year, month, 1), nxt - timedelta(days=1)
            return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None
    return None


def _local_day(us: int, layout: BarLayout, settings: Settings) -> date:
    zone = ZoneInfo(EXCHANGE_TZ)
    if layout.aware or settings.bars_timezone != EXCHANGE_TZ:
        if not layout.aware:
            naive = datetime(1970, 1, 1) + timedelta(microseconds=us)
            instant = naive.replace(tzinfo=check_timezone(settings.bars_timezone))
        else:
            instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
        return instant.astimezone(zone).date()
    return (datetime(1970, 1, 1) + timedelta(microseconds=us)).date()


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"VOLPRED_BARS_TIMEZONE={name!r} is not a time zone name") from exc


def _file_span(path: Path, layout: BarLayout, settings: Settings) -> tuple[date, date]:
    """The first and last New York day of a file's bars, read from its timestamps (the
    Parquet statistics would do for Parquet, but a full column read is exact for every kind
    and costs a fraction of the computation)."""
    try:
        bounds = (
            _scan([str(path)], layout)
            .select(_timestamp_us(layout, strict=False))
            .select(lo=pl.col("__t").min(), hi=pl.col("__t").max())
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise RealizedInputError(path, f"not a readable bar file: {_first_line(exc)}") from exc
    lo, hi = bounds.row(0)
    if lo is None:
        raise RealizedInputError(path, "no timestamps in this file", column=layout.timestamp[0])
    shift = -1 if settings.bars_label == "end" else 0
    return _local_day(lo + shift, layout, settings), _local_day(hi + shift, layout, settings)


def plan_partitions(path: str | Path, settings: Settings) -> list[Partition]:
    """Split the bar input into partitions of about `settings.bars_partition_rows` rows.

    Files are never split. Each file's New York days come from its hive keys (`date=`, or
    `year=`/`month=`/`day=`) or, without them, from its timestamps; files whose days overlap
    go into the same partition, so a trading day never spans two partitions. One file is one
    partition.
    """
    files = list_bar_files(path)
    layout = detect_layout(files)
    root = Path(path)
    if len(files) == 1:
        span = _hive_span(_hive_keys(files[0], root)) if root.is_dir() else None
        lo, hi = span if span else (None, None)
        return [Partition(0, (str(files[0]),), layout, lo, hi, _file_rows(files[0], layout))]
    spans: list[tuple[date, date, Path, int]] = []
    for f in files:
        span = _hive_span(_hive_keys(f, root)) or _file_span(f, layout, settings)
        spans.append((*span, f, _file_rows(f, layout)))
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], i))
    groups: list[list[int]] = []
    group_end = date.min
    for i in order:
        lo, hi = spans[i][0], spans[i][1]
        if groups and lo <= group_end:
            groups[-1].append(i)
            group_end = max(group_end, hi)
        else:
            groups.append([i])
            group_end = hi
    target = settings.bars_partition_rows
    partitions: list[Partition] = []
    current: list[int] = []
    rows = 0

    def close() -> None:
        if not current:
            return
        members = sorted(current)  # file order decides duplicates
        partitions.append(
            Partition(
                index=len(partitions),
                files=tuple(str(spans[i][2]) for i in members),
                layout=layout,
                first_day=min(spans[i][0] for i in members),
                last_day=max(spans[i][1] for i in members),
                rows=sum(spans[i][3] for i in members),
            )
        )

    for group in groups:
        size = sum(spans[i][3] for i in group)
        if current and rows + size > target:
            close()
            current, rows = [], 0
        current.extend(group)
        rows += size
    close()
    return partitions


# ---------------------------------------------------------------------------------------------
# Intraday bars: the per-partition computation

#: The per-day frame of one partition (before `combine_partitions`): the measures, the two
#: prices the overnight return needs, and the day's counts and verdict.
PARTIAL_SCHEMA: dict[str, pl.DataType] = {name: SCHEMA[name] for name in CANONICAL} | {
    "first_price": pl.Float64(),
    "last_close": pl.Float64(),
    "intervals": pl.Int64(),
    "expected_intervals": pl.Int64(),
    "half_day": pl.Boolean(),
    "rows": pl.Int64(),
    "out_of_session": pl.Int64(),
    "duplicates": pl.Int64(),
    "out_of_order": pl.Int64(),
    "zero_volume": pl.Int64(),
    "reason": pl.String(),
}
_COUNT_COLUMNS = ("rows", "out_of_session", "duplicates", "out_of_order", "zero_volume")


def _ny_offsets(instants_us: pl.Series) -> pl.Series:
    """New York's UTC offset (microseconds) at each of some UTC instants, computed by Polars."""
    local = pl.from_epoch(instants_us, "us").dt.replace_time_zone("UTC")
    local = local.dt.convert_time_zone(EXCHANGE_TZ)
    offset = local.dt.base_utc_offset() + local.dt.dst_offset()
    return offset.dt.total_microseconds()


def _offset_segments(lo_us: int, hi_us: int) -> tuple[np.ndarray, np.ndarray]:
    """New York's UTC offset over [lo, hi] (UTC microseconds) as change instants and offsets:
    `offsets[k]` holds from `starts[k]` on. The offset is probed at every UTC midnight, then
    hour by hour on the days it changed (New York changes on a whole UTC hour), so converting
    a column costs a few additions instead of a time-zone calculation per bar."""
    hour = 3_600_000_000
    first = lo_us - lo_us % US_PER_DAY
    probes = np.arange(first, hi_us + US_PER_DAY, US_PER_DAY, dtype=np.int64)
    offsets = _ny_offsets(pl.Series(probes)).to_numpy()
    starts, values = [lo_us], [int(_ny_offsets(pl.Series([lo_us]))[0])]
    changed = np.flatnonzero(np.diff(offsets)) + 1
    if changed.size:
        hours = (probes[changed - 1][:, None] + np.arange(1, 25, dtype=np.int64) * hour).ravel()
        by_hour = _ny_offsets(pl.Series(hours)).to_numpy().reshape(changed.size, 24)
        for row, k in enumerate(changed):
            step = int(np.flatnonzero(by_hour[row] != offsets[k - 1])[0])
            if hours[row * 24 + step] > lo_us:
                starts.append(int(hours[row * 24 + step]))
                values.append(int(by_hour[row, step]))
    return np.asarray(starts, dtype=np.int64), np.asarray(values, dtype=np.int64)


def _to_local(utc: pl.Series) -> pl.Series:
    """Sorted UTC microseconds (nulls last) -> New York wall-clock microseconds."""
    valid = utc.len() - utc.null_count()
    if valid == 0:
        return utc
    starts, offsets = _offset_segments(int(utc[0]), int(utc[valid - 1]))
    if len(starts) == 1:
        return utc + int(offsets[0])
    cuts = utc.head(valid).search_sorted(pl.Series(starts[1:]), side="left").to_list()
    bounds = [0, *cuts, valid]
    pieces = [
        utc.slice(bounds[k], bounds[k + 1] - bounds[k]) + int(offsets[k])
        for k in range(len(offsets))
    ]
    if valid < utc.len():
        pieces.append(utc.slice(valid))
    return pl.concat(pieces)


def _bad_row_mask() -> pl.Expr:
    price_bad = pl.col("close").is_null() | ~pl.col("close").is_finite() | (pl.col("close") <= 0)
    open_bad = (~pl.col("open").is_finite() | (pl.col("open") <= 0)).fill_null(False)
    volume_bad = (pl.col("volume").is_nan() | (pl.col("volume") < 0)).fill_null(False)
    return pl.col("__t").is_null() | price_bad | open_bad | volume_bad


def _why_bad(row: dict[str, Any], layout: BarLayout) -> tuple[str, str]:
    """(column, reason) of the first problem of a bad row (its text in `__raw_<column>`)."""
    ts_name = layout.timestamp[0]
    if row["__t"] is None:
        text = row.get("__ts")
        if text is None or str(text).strip() == "":
            return ts_name, "timestamp is missing"
        return ts_name, f"{text!r} is not a timestamp in the file's format ({layout.text_format})"
    for name, alias in ((layout.close, "close"), (layout.open, "open"), (layout.volume, "volume")):
        if name is None:
            continue
        value, text = row[alias], row.get(f"__raw_{name}")
        if value is None:
            if alias == "close":
                empty = text is None or str(text).strip() == ""
                return name, "price is missing" if empty else f"{text!r} is not a number"
            if text is not None and str(text).strip() != "":
                return name, f"{text!r} is not a number"
            continue
        if alias == "volume":
            if math.isnan(value) or value < 0:
                return name, f"{text!r} is not a volume (negative or NaN)"
        elif not math.isfinite(value) or value <= 0:
            return name, f"{text!r} is not a positive price"
    return ts_name, "bad row"


def _locate_bad_row(partition: Partition, cause: BaseException | None) -> RealizedInputError:
    """The first bad row of a partition, named by file and line (CSV) or row index (Parquet).

    Only called when the fast read failed or found a bad value: it reads each file again as
    text so that the cell can be quoted."""
    layout = partition.layout
    for name in partition.files:
        try:
            text = _scan([name], layout, text=True).collect()
        except (pl.exceptions.PolarsError, OSError) as exc:
            return RealizedInputError(name, f"not a readable bar file: {_first_line(exc)}")
        blank = pl.all_horizontal(pl.col(c).is_null() for c in text.columns)
        checked = text.with_row_index("__row").select(
            "__row",
            pl.all().exclude("__row").name.prefix("__raw_"),
            _timestamp_text(layout.timestamp),
            *_bar_columns(layout, strict=False),
            blank.alias("__blank"),
        )
        keep = ~pl.col("__blank") if layout.format == "csv" else pl.lit(True)
        unparsed = pl.lit(False)
        for column, alias in ((layout.open, "open"), (layout.volume, "volume")):
            if column is not None:
                text_cell = pl.col(f"__raw_{column}").str.strip_chars()
                unparsed = unparsed | ((text_cell != "") & pl.col(alias).is_null()).fill_null(False)
        bad = checked.filter((_bad_row_mask() | unparsed) & keep)
        if bad.height == 0:
            continue
        first = bad.row(0, named=True)
        column, reason = _why_bad(first, layout)
        index = int(first["__row"])
        if layout.format == "csv":
            return RealizedInputError(name, reason, line=index + 2, column=column)
        return RealizedInputError(name, reason, row=index, column=column)
    where = ", ".join(partition.files[:3]) + (" ..." if len(partition.files) > 3 else "")
    detail = _first_line(cause) if cause else "a bad value"
    return RealizedInputError(where, f"could not read the bars: {detail}")


def _read_partition(partition: Partition) -> pl.DataFrame:
    """`__t`, close, open, volume of the partition's bars in file order (lazy scan, streaming
    engine, only the columns used), checked: a bad row raises with its file and line."""
    layout = partition.layout
    lf = _scan(partition.files, layout)
    if layout.format == "csv":
        fields = [
            c
            for c in dict.fromkeys([*layout.timestamp, layout.close, layout.open, layout.volume])
            if c
        ]
        lf = lf.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in fields))
    try:
        bars = lf.select(_bar_columns(layout)).collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _locate_bad_row(partition, exc) from exc
    if bars.select(_bad_row_mask().any()).item():
        raise _locate_bad_row(partition, None)
    return bars


def _local_time(bars: pl.DataFrame, settings: Settings, aware: bool) -> pl.DataFrame:
    """Sorted by instant, with `__t` now New York wall-clock microseconds.

    Naive New York times are already wall-clock; naive times of another zone are placed in it
    (a wall time that does not exist, in the spring-forward hour, becomes null and counts as
    out of session). The sort is stable, so bars with one timestamp stay in file order, and
    skipped when the file is in order already (the usual case)."""
    zone = settings.bars_timezone
    if not aware and zone not in (EXCHANGE_TZ, "UTC"):
        check_timezone(zone)
        bars = bars.with_columns(
            pl.from_epoch("__t", "us")
            .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.timestamp("us")
            .alias("__t")
        )
    if not bars["__t"].is_sorted(nulls_last=True):
        bars = bars.sort("__t", maintain_order=True, nulls_last=True)
    if aware or zone != EXCHANGE_TZ:
        bars = bars.with_columns(_to_local(bars["__t"]).alias("__t"))
    return bars


def _per_day_count(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.group_by("day").agg(pl.len().cast(pl.Int64).alias(name))


def measures_for_partition(partition: Partition, settings: Settings) -> pl.DataFrame:
    """The per-day measures and counts of one partition (`PARTIAL_SCHEMA`, sorted by date).

    A pure function of its files and the settings, so partitions can run anywhere and in any
    order. Days with only out-of-session bars appear with n_bars 0 (they only count); a day
    that has too few 5-minute intervals carries its `reason` and is dropped by
    `combine_partitions`. The overnight return is not computed here: it needs the previous
    day, which may sit in the partition before.

    Each step is a pass over the bars (Polars expressions, no per-day Python), and the steps
    that only some files need (sorting, dropping out-of-session or duplicate bars) are skipped
    when nothing needs them.
    """
    bars = _read_partition(partition)
    out_of_order = int((bars["__t"] < bars["__t"].shift(1)).sum() or 0)
    bars = _local_time(bars, settings, partition.layout.aware)
    if settings.bars_label == "end":
        bars = bars.with_columns(pl.col("__t") - 1)
    t = pl.col("__t")
    day = t // US_PER_DAY
    tod = t % US_PER_DAY
    bars = bars.with_columns(
        __in=((tod >= _OPEN_US) & (tod < _CLOSE_US)).fill_null(False),
        __dup=(t == t.shift(-1)).fill_null(False),
        __day=day,
        __bucket=t // _GRID_US,
    )
    day = pl.col("__day")
    counts = []
    outside = bars.lazy().filter(~pl.col("__in")).select(day.alias("day")).collect()
    if outside.height:
        counts.append(_per_day_count(outside, "out_of_session"))
    repeated = bars.filter(pl.col("__dup") & pl.col("__in"))
    if repeated.height:
        counts.append(_per_day_count(repeated.with_columns(day=day), "duplicates"))
        bars = bars.filter(~pl.col("__dup"))

    # Out-of-session bars stay in place (filtering them first would copy every column):
    # 5-minute buckets never straddle 09:30 or 16:00, so a session bucket's last bar is the
    # same with or without them; the day's first price is at its first session bar.
    inside = pl.col("__in")
    same_day = day == day.shift(1)
    session_start = inside & ~(inside.shift(1) & same_day).fill_null(False)
    bucket = pl.col("__bucket")
    last_in_bucket = inside & (bucket != bucket.shift(-1)).fill_null(True)
    first_price = pl.coalesce(pl.col("open"), pl.col("close"))
    zero_volume = inside & (pl.col("volume") == 0).fill_null(False)
    # running counts of session bars and zero-volume bars, read off at each day's last bar
    n = pl.int_range(1, pl.len() + 1, dtype=pl.Int64) if outside.height == 0 else inside.cum_sum()
    z = zero_volume.cum_sum() if bars.select(zero_volume.any()).item() else pl.lit(0, pl.Int64)
    grid = (
        bars.lazy()
        .with_columns(
            n=n,
            z=z,
            p0=pl.when(session_start).then(first_price).forward_fill(),
        )
        .filter(last_in_bucket)
        .select(
            day.alias("day").set_sorted(),
            "n",
            "z",
            pl.col("p0").log().alias("lp0"),
            (bucket - day * (US_PER_DAY // _GRID_US)).alias("bucket"),
            pl.col("close").log().alias("lp"),
        )
    )
    new_day = (pl.col("day") != pl.col("day").shift(1)).fill_null(True)
    previous = pl.when(new_day).then(pl.col("lp0")).otherwise(pl.col("lp").shift(1))
    r = pl.col("r")
    measures = (
        grid.with_columns(r=pl.col("lp") - previous)
        .with_columns(
            r2=r**2,
            up2=r.clip(lower_bound=0.0) ** 2,
            bp=pl.when(~new_day).then(r.abs() * r.shift(1).abs()),
        )
        .group_by("day", maintain_order=True)
        .agg(
            rv5=pl.col("r2").sum(),
            bv=(math.pi / 2) * pl.col("bp").sum(),
            rs_pos=pl.col("up2").sum(),
            first_price=pl.col("lp0").first().exp(),
            last_close=pl.col("lp").last().exp(),
            intervals=pl.len().cast(pl.Int64),
            last_bucket=pl.col("bucket").last(),
            n=pl.col("n").last(),
            z=pl.col("z").last(),
        )
        .with_columns(
            rs_neg=pl.col("rv5") - pl.col("rs_pos"),
            n_bars=pl.col("n") - pl.col("n").shift(1, fill_value=0),
            zero_volume=pl.col("z") - pl.col("z").shift(1, fill_value=0),
        )
        .collect()
    )
    days = measures.select("day")
    for extra in counts:
        days = days.join(extra.select("day"), on="day", how="full", coalesce=True)
    out = days.unique("day").join(measures, on="day", how="left")
    for extra in counts:
        out = out.join(extra, on="day", how="left")
    out = out.sort("day", nulls_last=True)
    half_day = (pl.col("last_bucket") == _HALF_DAY_LAST_BUCKET).fill_null(False)
    expected = pl.when(half_day).then(HALF_DAY_INTERVALS).otherwise(FULL_INTERVALS)
    n_bars = pl.col("n_bars").fill_null(0)
    reason = (
        pl.when(n_bars == 0)
        .then(pl.lit("no bars in the 09:30-16:00 session"))
        .when(pl.col("intervals") < pl.lit(settings.bars_min_share) * expected)
        .then(
            pl.format(
                "too few bars: {} of {} 5-minute intervals observed (minimum share {})",
                pl.col("intervals"),
                expected,
                pl.lit(settings.bars_min_share),
            )
        )
    )
    count = {
        name: pl.col(name).fill_null(0) if name in out.columns else pl.lit(0)
        for name in ("out_of_session", "duplicates", "zero_volume")
    }
    out = out.with_columns(
        date=pl.col("day").cast(pl.Int32).cast(pl.Date),
        half_day=half_day & (n_bars > 0),
        expected_intervals=pl.when(n_bars > 0).then(expected),
        n_bars=n_bars,
        **{name: expr.alias(name) for name, expr in count.items()},
        reason=reason,
    ).with_columns(
        rows=pl.col("n_bars") + pl.col("duplicates") + pl.col("out_of_session"),
        out_of_order=pl.when(pl.int_range(pl.len()) == 0).then(out_of_order).otherwise(0),
    )
    return out.select(pl.col(name).cast(dtype) for name, dtype in PARTIAL_SCHEMA.items())


def combine_partitions(
    frames: Sequence[pl.DataFrame], source_uri: str = "", notes: Sequence[str] = ()
) -> RealizedResult:
    """Join the partitions' day frames into the result: drop the days with a reason (listing
    them), add the jump and the overnight returns (the previous day may come from another
    partition), total the counts.

    A date that two partitions both hold bars in the session for means the partitions split
    a trading day, which the planner rules out: it is refused rather than double counted.
    Days with only out-of-session bars (a weekend, a holiday's pre-market) only count.
    """
    parts = [f for f in frames if f.height]
    days = pl.concat(parts) if parts else pl.DataFrame(schema=PARTIAL_SCHEMA)
    counts = {name: int(days[name].sum() or 0) for name in _COUNT_COLUMNS}
    days = days.filter(pl.col("date").is_not_null())
    session = days.filter(pl.col("n_bars") > 0)
    split = session.group_by("date").len().filter(pl.col("len") > 1)
    if split.height:
        first = split["date"].sort()[0]
        raise RealizedInputError(
            source_uri or "bars",
            f"trading day {first} has bars in more than one partition ({split.height} such "
            "days): its files overlap in time and must go to one partition",
        )
    session = session.sort("date")
    gap = (pl.col("date") - pl.col("date").shift(1)).dt.total_days()
    usable_previous = pl.col("reason").shift(1).is_null() & (gap <= MAX_OVERNIGHT_GAP_DAYS)
    session = session.with_columns(
        overnight_ret=pl.when(usable_previous.fill_null(False)).then(
            (pl.col("first_price") / pl.col("last_close").shift(1)).log()
        )
    )
    dropped = session.filter(pl.col("reason").is_not_null())
    kept = session.filter(pl.col("reason").is_null())
    half_days = kept.filter(pl.col("half_day"))["date"].to_list()
    counts |= {
        "days": kept.height,
        "dropped_days": dropped.height,
        "half_days": len(half_days),
        "missing_intervals": int(
            (kept["expected_intervals"] - kept["intervals"]).clip(lower_bound=0).sum() or 0
        ),
        "partitions": len(frames),
    }
    out_notes = list(notes)
    if half_days:
        shown = ", ".join(str(d) for d in half_days[:10])
        more = f" and {len(half_days) - 10} more" if len(half_days) > 10 else ""
        out_notes.append(f"half days (bars end at 13:00; 42 intervals expected): {shown}{more}")
    for key, what in (
        ("out_of_session", "bars outside 09:30-16:00 New York dropped"),
        ("duplicates", "bars with a repeated timestamp dropped (the last kept)"),
        ("out_of_order", "bars out of time order (sorted)"),
        ("zero_volume", "zero-volume bars kept for their price"),
    ):
        if counts[key]:
            out_notes.append(f"{counts[key]:,} {what}")
    frame = _conform(kept.with_columns(jump_expr()))
    return RealizedResult(
        frame=frame,
        source_uri=source_uri,
        kind="bars",
        dropped_days=[
            {"date": d, "reason": r} for d, r in dropped.select("date", "reason").iter_rows()
        ],
        counts=counts,
        notes=out_notes,
    )


def bars_notes(partitions: Sequence[Partition], settings: Settings) -> list[str]:
    """What a reader of the result needs to know about how the bars were read."""
    if not partitions:
        return []
    layout = partitions[0].layout
    if layout.aware:
        zone = "their own zone or offset (UTC instants)"
    else:
        zone = f"{settings.bars_timezone} (naive; VOLPRED_BARS_TIMEZONE)"
    columns = ", ".join(
        f"{role}={name}"
        for role, name in (
            ("timestamp", "+".join(layout.timestamp)),
            ("close", layout.close),
            ("open", layout.open),
            ("volume", layout.volume),
        )
        if name
    )
    notes = [
        f"{layout.format} bars, {sum(len(p.files) for p in partitions)} file(s) in "
        f"{len(partitions)} partition(s); columns {columns}; timestamps in {zone}, labelled at "
        f"the bar's {settings.bars_label}",
    ]
    if layout.open is None:
        notes.append("no open column: each day's first price is its first bar's close")
    if layout.volume is None:
        notes.append("no volume column: zero-volume bars cannot be counted")
    return notes


def measures_from_bars(path: str | Path, settings: Settings) -> RealizedResult:
    """Daily measures from intraday bars, one partition after another in this process (each
    one uses every core through Polars); `volpred.flows.realized.compute_realized` runs the
    same partitions as Prefect tasks."""
    partitions = plan_partitions(path, settings)
    frames = [measures_for_partition(p, settings) for p in partitions]
    return combine_partitions(frames, str(Path(path).resolve()), bars_notes(partitions, settings))
