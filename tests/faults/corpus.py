"""The bad-CSV corpus of the fault suite, made from `make_raw` frames (never real data).

Each entry is a file body and what must happen to it: `clean` (ingested and cleaned, with the
finding in the cleaning report) or `refuse` (ingest or clean fails with a message naming the
line and column, or the file-level cause when there is no line to name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from tests.support.markets import make_raw

ROWS = 300
HEADER = ("date", "spx_open", "spx_high", "spx_low", "spx_close", "spx_volume", "vix_open",
          "vix_high", "vix_low", "vix_close", "dgs10", "dgs2", "t10y2y")  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    outcome: str  # "clean" or "refuse"
    #: Substrings the error message (refuse) or the notes/report (clean) must contain.
    expect: tuple[str, ...]


def frame(n: int = ROWS, seed: int = 3) -> pl.DataFrame:
    return make_raw(n, seed=seed, start=date(2020, 1, 1))


def csv_text(df: pl.DataFrame, separator: str = ",", date_format: str = "%Y-%m-%d") -> str:
    return df.write_csv(separator=separator, date_format=date_format, float_precision=6)


def lines(df: pl.DataFrame | None = None) -> list[str]:
    return csv_text(frame() if df is None else df).splitlines()


def with_cell(line_no: int, column: str, value: str, df: pl.DataFrame | None = None) -> str:
    """The canonical file with the cell at 1-based `line_no` (header is 1), `column` replaced."""
    rows = lines(df)
    index = HEADER.index(column)
    cells = rows[line_no - 1].split(",")
    cells[index] = value
    rows[line_no - 1] = ",".join(cells)
    return "\n".join(rows) + "\n"


def _spike(df: pl.DataFrame, row: int, factor: float) -> pl.DataFrame:
    close = df["spx_close"].to_list()
    close[row] *= factor
    return df.with_columns(pl.Series("spx_close", close))


def _cases() -> list[Case]:
    df = frame()
    text = csv_text(df)
    rows = text.splitlines()
    dup = pl.concat([df.head(150), df.slice(100, 10), df.tail(150)])
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=1)
    negative = df.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([40, 41]))
        .then(-pl.col("spx_close"))
        .otherwise(pl.col("spx_close"))
        .alias("spx_close")
    )
    # 12 or fewer: every date also reads as MM/DD (day and month swapped).
    short_days = frame(700).filter(pl.col("date").dt.day() <= 12)
    return [
        Case("empty", b"", "refuse", ("the file is empty",)),
        Case("blank lines only", b"\n\n  \n", "refuse", ("the file is empty",)),
        Case("header only", (rows[0] + "\n").encode(), "refuse", ("header but no data rows",)),
        Case("utf-8 BOM", ("\ufeff" + text).encode(), "clean", ("separator ','",)),
        Case("semicolon separated", csv_text(df, ";").encode(), "clean", ("separator ';'",)),
        Case("tab separated", csv_text(df, "\t").encode(), "clean", ("separator '\\t'",)),
        Case(
            "US dates MM/DD/YYYY",
            csv_text(df, date_format="%m/%d/%Y").encode(),
            "clean",
            ("date format %m/%d/%Y",),
        ),
        Case(
            "European dates DD.MM.YYYY",
            csv_text(df, date_format="%d.%m.%Y").encode(),
            "clean",
            ("date format %d.%m.%Y",),
        ),
        Case(
            "DD/MM dates, days <= 12, in order",
            csv_text(short_days, date_format="%d/%m/%Y").encode(),
            "clean",
            ("date format %d/%m/%Y",),
        ),
        Case(
            "DD/MM dates, days <= 12, out of order",
            csv_text(short_days.reverse(), date_format="%d/%m/%Y").encode(),
            "refuse",
            ("line 2, column 'date'", "reads both as %m/%d/%Y and as %d/%m/%Y"),
        ),
        Case(
            "timestamps instead of dates",
            csv_text(df.with_columns(pl.col("date").cast(pl.Datetime))).encode(),
            "refuse",
            ("line 2, column 'date'", "2020-01-01T00:00:00.000000"),
        ),
        Case(
            "one date in another format",
            with_cell(120, "date", "05/16/2020").encode(),
            "refuse",
            ("line 120, column 'date'", "'05/16/2020'"),
        ),
        Case(
            "duplicated dates", csv_text(dup).encode(), "clean", ("duplicate_date", "share a date")
        ),
        Case("unsorted dates", csv_text(shuffled).encode(), "clean", ("not in date order",)),
        Case(
            "missing required column",
            csv_text(df.drop("vix_close")).encode(),
            "refuse",
            ("line 1, column 'vix_close'", "required column is absent"),
        ),
        Case(
            "text in a numeric column",
            with_cell(77, "spx_close", "n/a-ish").encode(),
            "refuse",
            ("line 77, column 'spx_close'", "'n/a-ish'"),
        ),
        Case(
            "comma decimals in a ; file",
            csv_text(df, ";").replace(".", ",", 1).encode(),
            "refuse",
            ("line 2, column 'spx_open'", "not a finite number"),
        ),
        Case(
            "infinite value",
            with_cell(33, "vix_close", "inf").encode(),
            "refuse",
            ("line 33, column 'vix_close'", "not a finite number"),
        ),
        Case(
            "negative prices",
            csv_text(negative).encode(),
            "clean",
            ("missing_or_non_positive_close",),
        ),
        Case(
            "absurd price", csv_text(_spike(df, 200, 1000.0)).encode(), "clean", ("absurd_close",)
        ),
        Case(
            "a row with too many fields",
            with_cell(50, "t10y2y", "0.5,0.7").encode(),
            "refuse",
            ("line 50",),
        ),
        Case(
            "a line cut short",
            (
                "\n".join([*rows[:59], ",".join(rows[59].split(",")[:4]), *rows[60:]]) + "\n"
            ).encode(),
            "refuse",
            ("line 60: 4 fields where the header has 13",),
        ),
        Case(
            "a blank line inside",
            ("\n".join([*rows[:99], "", *rows[99:]]) + "\n").encode(),
            "refuse",
            ("line 100, column 'date': date is empty",),
        ),
        Case(
            "too few rows to clean",
            csv_text(df.head(20)).encode(),
            "refuse",
            ("only 20 usable rows",),
        ),
        Case(
            "not UTF-8 (latin-1 junk)",
            with_cell(10, "spx_volume", "1\xa0000").encode("latin-1"),
            "refuse",
            ("line 10, column 'spx_volume'",),
        ),
    ]


CASES = _cases()
