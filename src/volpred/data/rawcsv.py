"""Reading a canonical raw CSV strictly, collecting every problem with its line and column.

Both the `csv` source (a user's file) and clean_data (the raw checkpoint) read through here, so a
bad cell is reported the same way wherever it enters. Nothing is guessed silently: the chosen
separator and date format are recorded, unknown columns are listed, and a cell that is neither a
number nor a recognised null marker is a problem named by line and column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from volpred.data.schema import (
    DATE,
    NUMERIC_COLUMNS,
    RAW_COLUMNS,
    REQUIRED_COLUMNS,
    conform,
    empty_raw,
)

#: Cell texts that mean "no value" in the feeds we meet (FRED writes ".", spreadsheets "#N/A").
NULL_TOKENS = ["", "na", "n/a", "#n/a", "nan", "null", "none", ".", "-"]
#: Tried in order; the first that parses every date wins (ISO first, then US before European).
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y"]
#: Problems listed per kind in messages; counts are always complete.
MAX_EXAMPLES = 10
_SNIFF_BYTES = 64 * 1024
HEADER_LINE = 1


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    column: str | None = None
    line: int | None = None

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class ParsedRaw:
    frame: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    separator: str = ","
    date_format: str | None = None
    extra_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def summarize(problems: list[Problem], limit: int = MAX_EXAMPLES) -> str:
    """One readable paragraph per problem kind: total count and the first examples."""
    by_kind: dict[str, list[Problem]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    parts = []
    for kind, items in by_kind.items():
        shown = "; ".join(p.describe() for p in items[:limit])
        more = f"; ... and {len(items) - limit} more" if len(items) > limit else ""
        parts.append(f"{kind} ({len(items)}): {shown}{more}")
    return "\n".join(parts)


def _sniff_separator(head: str) -> str:
    first_line = head.splitlines()[0] if head else ""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _normalise_name(name: str) -> str:
    return name.replace("\ufeff", "").strip().strip('"').strip().lower()


#: Formats that read the same text as different dates ("03/04/2020": March 4 or April 3).
AMBIGUOUS_FORMATS = {"%m/%d/%Y": "%d/%m/%Y", "%d/%m/%Y": "%m/%d/%Y"}


def _parse_dates(text: pl.Series) -> tuple[pl.Series, str | None]:
    """Pick the first format that parses every non-empty date; else the one parsing most."""
    present = text.drop_nulls()
    best: tuple[int, str | None, pl.Series] = (-1, None, pl.Series(dtype=pl.Date))
    for fmt in DATE_FORMATS:
        parsed = text.str.strptime(pl.Date, fmt, strict=False)
        hits = parsed.drop_nulls().len()
        if hits == present.len():
            return parsed, fmt
        if hits > best[0]:
            best = (hits, fmt, parsed)
    return best[2], best[1]


def _resolve_ambiguous_dates(
    text: pl.DataFrame, dates: pl.Series, date_format: str | None
) -> tuple[pl.Series, str | None, list[Problem]]:
    """A column that reads completely both as MM/DD/YYYY and as DD/MM/YYYY (no day above 12)
    is read the way that puts the rows in increasing date order, when exactly one does (a time
    series is written in order); otherwise it is refused, naming the first line the two readings
    disagree on. Taking the first format would silently swap days and months.
    """
    other = AMBIGUOUS_FORMATS.get(date_format or "")
    if other is None:
        return dates, date_format, []
    alternative = text[DATE].str.strptime(pl.Date, other, strict=False)
    if alternative.null_count() != dates.null_count():
        return dates, date_format, []
    differs = (alternative != dates).fill_null(False)
    if not differs.any():
        return dates, date_format, []
    in_order = {
        fmt: parsed.drop_nulls().is_sorted()
        for fmt, parsed in ((date_format, dates), (other, alternative))
    }
    if in_order[date_format] and not in_order[other]:
        return dates, date_format, []
    if in_order[other] and not in_order[date_format]:
        return alternative, other, []
    if dates.drop_nulls().n_unique() <= 1:  # one day: the documented US reading
        return dates, date_format, []
    first = int(differs.arg_true()[0])
    value = text[DATE][first]
    problem = Problem(
        "ambiguous_dates",
        f"every date reads both as {date_format} and as {other} (no day above 12), e.g. "
        f"{value!r} is {dates[first]} or {alternative[first]}, and neither puts the rows in "
        "date order: write dates as YYYY-MM-DD",
        column=DATE,
        line=int(text["__line"][first]),
    )
    return dates, date_format, [problem]


def _field_count_problems(path: Path, separator: str, width: int) -> list[Problem]:
    """Lines whose number of fields differs from the header's (a cut or shifted line).

    polars would pad a short line with empty cells, which later read as missing values, and
    names no line for a long one; so fields are counted per physical line first. Lines with
    quotes are skipped (a quoted field may hold the separator), as are blank lines (they come
    back as rows without a date, reported with their line).
    """
    lines = pl.read_csv(
        path,
        has_header=False,
        separator="\x00",
        quote_char=None,
        infer_schema=False,
        encoding="utf8-lossy",
        new_columns=["text"],
        raise_if_empty=False,
        truncate_ragged_lines=True,
    )
    if lines.height <= 1:
        return []
    counted = lines.with_columns(
        line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        fields=pl.col("text").str.count_matches(separator, literal=True) + 1,
    ).slice(1)
    bad = counted.filter(
        pl.col("text").is_not_null()
        & (pl.col("text").str.strip_chars() != "")
        & ~pl.col("text").str.contains('"', literal=True)
        & (pl.col("fields") != width)
    )
    problems = [
        Problem(
            "wrong_field_count",
            f"{fields} fields where the header has {width}: {text[:60]!r}",
            line=int(line),
        )
        for text, line, fields in bad.head(MAX_EXAMPLES).select("text", "line", "fields").rows()
    ]
    if bad.height > MAX_EXAMPLES:
        problems.append(Problem("wrong_field_count", f"{bad.height - MAX_EXAMPLES} more lines"))
    return problems


def _null_tokens_to_null(column: str) -> pl.Expr:
    stripped = pl.col(column).str.strip_chars()
    return (
        pl.when(stripped.str.to_lowercase().is_in(NULL_TOKENS))
        .then(None)
        .otherwise(stripped)
        .alias(column)
    )


def _cell_problems(
    text: pl.DataFrame, parsed: pl.DataFrame, column: str, kind: str, what: str
) -> list[Problem]:
    bad = text.select(pl.col("__line"), pl.col(column).alias("text")).filter(
        pl.col("text").is_not_null() & parsed[column].is_null()
    )
    return [
        Problem(kind, f"{what}: {value!r}", column=column, line=int(line))
        for line, value in bad.head(MAX_EXAMPLES * 10).iter_rows()
    ] + (
        [Problem(kind, f"{bad.height - MAX_EXAMPLES * 10} more cells", column=column)]
        if bad.height > MAX_EXAMPLES * 10
        else []
    )


def read_raw_csv(path: Path) -> ParsedRaw:
    """Parse `path` into the canonical raw frame, returning problems instead of raising."""
    path = Path(path)
    try:
        head = path.open("r", encoding="utf-8-sig", errors="replace").read(_SNIFF_BYTES)
    except OSError as exc:
        return ParsedRaw(empty_raw(), [Problem("unreadable", str(exc))])
    if not head.strip():
        return ParsedRaw(empty_raw(), [Problem("empty_file", "the file is empty")])

    separator = _sniff_separator(head)
    header = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    try:
        problems = _field_count_problems(path, separator, header.count(separator) + 1)
    except (pl.exceptions.PolarsError, OSError):
        problems = []  # the read below says what is wrong with the file
    if problems and '"' not in header:
        return ParsedRaw(empty_raw(), problems, separator)
    try:
        text = pl.read_csv(
            path,
            separator=separator,
            infer_schema=False,
            encoding="utf8-lossy",
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ParsedRaw(
            empty_raw(),
            [Problem("unparsable_file", f"not a readable CSV: {first}")],
            separator,
        )

    text = text.rename({c: _normalise_name(c) for c in text.columns})
    problems: list[Problem] = [
        Problem("missing_required_column", "required column is absent", column=c, line=HEADER_LINE)
        for c in REQUIRED_COLUMNS
        if c not in text.columns
    ]
    extra = [c for c in text.columns if c not in RAW_COLUMNS]
    if problems:
        return ParsedRaw(empty_raw(), problems, separator, extra_columns=extra)
    if text.height == 0:
        return ParsedRaw(
            empty_raw(),
            [Problem("no_rows", "the file has a header but no data rows")],
            separator,
        )

    known = [c for c in RAW_COLUMNS if c in text.columns]
    text = text.select(known).with_columns(
        [_null_tokens_to_null(c) for c in known],
        __line=pl.int_range(HEADER_LINE + 1, text.height + HEADER_LINE + 1, dtype=pl.Int64),
    )

    dates, date_format = _parse_dates(text[DATE])
    dates, date_format, problems = _resolve_ambiguous_dates(text, dates, date_format)
    numeric = [c for c in NUMERIC_COLUMNS if c in known]
    parsed = text.select(
        dates.alias(DATE),
        *[
            pl.col(c)
            .str.replace_all(r"^\+", "")
            .cast(pl.Float64, strict=False)
            .pipe(lambda e: pl.when(e.is_finite()).then(e))
            .alias(c)
            for c in numeric
        ],
    )
    problems += _cell_problems(
        text, parsed, DATE, "unparsable_value", f"not a date in format {date_format}"
    )
    problems += [
        Problem("missing_value", "date is empty", column=DATE, line=int(line))
        for line in text.filter(pl.col(DATE).is_null())["__line"].head(MAX_EXAMPLES)
    ]
    for column in numeric:
        problems += _cell_problems(text, parsed, column, "unparsable_value", "not a finite number")

    return ParsedRaw(
        conform(parsed),
        problems,
        separator,
        date_format,
        extra,
    )
