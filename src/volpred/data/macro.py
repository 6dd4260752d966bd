"""Macroeconomic series from FRED, joined to the daily table point in time.

A value FRED dates d describes a period ending on d (a day, the week ending that Friday, the
month starting that 1st) and was published later: a forecast made at the close of day t may
use only values public by t. So every observation gets an **availability date** from its
series' publication-lag rule, and the daily table takes, per series, the newest observation
whose availability date is on or before its date (`join_macro`: an as-of join, backward, on
the availability date). A joined row carries the value as `<id>` (the id in lower case) and
the observation date it belongs to as `<id>_obs_date`.

Lag rules (`LagRule`; strings in `Settings.macro_lags`), applied to an observation date d:

=====================  ==================================================================
``bday+N``             the N-th business day after d (N >= 1); ``bday+0``: d itself, or
                       the next business day when d is not one
``day+N``              d + N calendar days, moved forward to a business day
``weekday:D[+Nw]``     the first weekday D (mon .. sun) strictly after d, plus N weeks,
                       moved forward to a business day when it is a holiday
``monthend+Nm``        the last business day of the month N months after d's month
=====================  ==================================================================

Every rule gives a business day on or after d. The defaults, conservative (a release is
assumed no earlier than its usual day, and holidays only delay it):

============  ============  ===============  =================================================
series        observation   rule             example (observation -> available)
============  ============  ===============  =================================================
ANFCI         Friday        weekday:wed      Fri 2018-12-21 -> Wed 2018-12-26 (Chicago Fed,
                                             Wednesdays 8:30 ET)
STLFSI4       Friday        weekday:thu      Fri 2018-12-21 -> Thu 2018-12-27 (St. Louis Fed,
                                             Thursdays)
ICSA          Saturday      weekday:thu      Sat 2018-12-22 -> Thu 2018-12-27 (Department of
                                             Labor, Thursdays 8:30 ET)
CFNAI         1st of month  monthend+1m      2018-11-01 -> Mon 2018-12-31 (released around
                                             the fourth week of the next month)
BAMLH0A0HYM2  weekday       bday+1           Fri 2018-12-21 -> Mon 2018-12-24, Mon 2018-12-24
                                             -> Wed 2018-12-26 (Christmas skipped)
BAMLC0A0CM    weekday       bday+1           as above
DCOILWTICO    weekday       weekday:wed+1w   Mon 2018-12-17 -> Wed 2018-12-26 (EIA spot prices
                                             reach FRED in weekly updates; the second
                                             Wednesday after d, 8 to 14 days, covers an update
                                             that stops a day or two before its release)
DGS30         weekday       bday+1           as above
T10YIE        weekday       bday+1           as above
============  ============  ===============  =================================================

Known exceptions the rules do not model: a federal government shutdown stops the statistical
releases CFNAI is computed from (October 2013, December 2018 to January 2019), so its release
can come later than the rule says; and the Labor Department publishes claims a day *early* in a
holiday week (the rule's later day is then merely conservative).

**Calendar** (`Settings.macro_calendar`): ``us_federal`` (default) is Monday to Friday without
the US federal holidays (5 U.S.C. 6103: New Year's Day, Martin Luther King Jr. Day from 1986,
Washington's Birthday, Memorial Day, Juneteenth from 2021, Independence Day, Labor Day, Columbus
Day, Veterans Day, Thanksgiving, Christmas; a Saturday holiday is observed on the Friday before,
a Sunday one on the Monday after), the schedule the Federal Reserve banks, the Board (H.15
yields) and the Labor Department publish on. ``weekday`` is every Monday to Friday. Stock
exchange holidays (Good Friday) are not federal holidays and do not delay these releases.

**Vintages.** FRED serves the *latest vintage* of each series: today's values after every
revision, not what was known on the day. ICSA and CFNAI are revised for weeks and months after
their release, ANFCI and STLFSI4 are re-estimated over their whole history every week, so even
with the lags above a backtest sees revised numbers (a look-ahead no lag removes; it is smallest
for market prices such as spreads, yields and oil, which are not revised). Point-in-time
*dates* are what this module guarantees; point-in-time *values* need vintages.
`Settings.macro_vintage_date` downloads every series from ALFRED's keyless CSV endpoint
(``alfredgraph.csv?id=<SERIES>&vintage_date=<day>``, the layout of FRED's, read by the same
pandas-datareader reader) as it was published on that day: a reproducible snapshot, e.g. the
data a past model was trained on. It is one vintage, not a real-time history: the per-day view
(every observation with the value known on each day, ALFRED's ``realtime_start`` /
``realtime_end``) is only served by the FRED API (``api.stlouisfed.org/fred/series/
observations``), which needs an API key, answers JSON or zipped files in its own layout, and
is not what pandas-datareader's FRED reader speaks, so it is not supported here.

**ICE BofA spreads.** FRED serves only about the last three years of BAMLH0A0HYM2 and
BAMLC0A0CM online (ICE's licence): fetched from FRED they are reported as too short to train on;
a longer history has to come from files (`Settings.macro_dir`).

Offline, `read_macro_dir` reads a folder of FRED CSV downloads, one ``<SERIES>.csv`` per series:
header ``observation_date,<SERIES>`` (or FRED's older ``DATE,<SERIES>``), ISO dates in
increasing order, an empty cell or ``.`` for a missing value. A file that does not look like
that is refused with a `MacroInputError` naming file and line; a failed download is a
`SourceError` as for the other sources.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import polars as pl

from volpred.config import Settings
from volpred.data.schema import DATE
from volpred.runtime.storage import atomic_write_text

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

Frequency = Literal["daily", "weekly", "monthly"]
Calendar = Literal["us_federal", "weekday"]
RuleKind = Literal["bday", "day", "weekday", "monthend"]

#: The long frame every reader returns: one row per observation with a value.
MACRO_SCHEMA: dict[str, pl.DataType] = {
    "series": pl.String(),
    "obs_date": pl.Date(),
    "available_date": pl.Date(),
    "value": pl.Float64(),
}
#: A file in a macro folder saying its data are made up (written by `write_sample_macro`).
SYNTHETIC_MARKER = "SYNTHETIC.txt"
#: Downloads start this long before the requested start, so the first daily rows already have
#: the values published before it (a monthly value is public up to two months after its date).
FETCH_LOOKBACK = timedelta(days=100)
#: How long before the requested end a download's last value may lie, by frequency; beyond it
#: the answer is taken as truncated or stale (monthly: a month, its publication lag, and delays).
MAX_STALENESS: dict[str, timedelta] = {
    "daily": timedelta(days=21),
    "weekly": timedelta(days=28),
    "monthly": timedelta(days=100),
}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"^(?:(?P<kind>bday|day)\+(?P<n>\d{1,3})"
    r"|weekday:(?P<weekday>mon|tue|wed|thu|fri|sat|sun)(?:\+(?P<weeks>\d{1,2})w)?"
    r"|monthend\+(?P<months>\d{1,2})m)$"
)
RULE_GRAMMAR = "bday+N, day+N, weekday:<mon..sun>[+Nw] or monthend+Nm"
_SERIES_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_MISSING = ("", ".")
_DATE_HEADERS = ("observation_date", "date")


class MacroInputError(ValueError):
    """A macro file that is not a FRED CSV: the message names the file and, if known, the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class LagRule:
    """When an observation becomes public, relative to its observation date (see the module
    docstring for the grammar). `n` counts business or calendar days, weeks or months."""

    kind: RuleKind
    n: int = 0
    weekday: int | None = None  # 1 = Monday .. 7 = Sunday, for kind "weekday"

    def __post_init__(self) -> None:
        if self.kind not in get_args(RuleKind):
            raise ValueError(f"unknown lag rule kind {self.kind!r}")
        if self.n < 0:
            raise ValueError("a lag rule cannot look back: n must be >= 0")
        if (self.kind == "weekday") != (self.weekday is not None):
            raise ValueError("a weekday is given exactly for kind 'weekday'")
        if self.weekday is not None and not 1 <= self.weekday <= 7:
            raise ValueError("weekday is 1 (Monday) .. 7 (Sunday)")

    @classmethod
    def parse(cls, text: str) -> LagRule:
        match = _RULE.match(text.strip().lower())
        if match is None:
            raise ValueError(f"lag rule {text!r} is not one of {RULE_GRAMMAR}")
        if match["kind"]:
            return cls(match["kind"], int(match["n"]))
        if match["weekday"]:
            return cls("weekday", int(match["weeks"] or 0), _WEEKDAYS.index(match["weekday"]) + 1)
        return cls("monthend", int(match["months"]))

    def __str__(self) -> str:
        if self.kind == "weekday":
            assert self.weekday is not None
            weeks = f"+{self.n}w" if self.n else ""
            return f"weekday:{_WEEKDAYS[self.weekday - 1]}{weeks}"
        if self.kind == "monthend":
            return f"monthend+{self.n}m"
        return f"{self.kind}+{self.n}"

    @property
    def frequency(self) -> Frequency:
        """The frequency a series with this rule most likely has (for series not catalogued)."""
        if self.kind == "weekday":
            return "weekly"
        if self.kind == "monthend":
            return "monthly"
        return "daily"


@dataclass(frozen=True)
class SeriesSpec:
    """One FRED series: its id, how often it is observed, when a value becomes public."""

    id: str
    frequency: Frequency
    lag_rule: LagRule
    description: str = ""

    def __post_init__(self) -> None:
        if not _SERIES_ID.match(self.id):
            raise ValueError(f"{self.id!r} is not a FRED series id (letters, digits, _)")
        if self.frequency not in get_args(Frequency):
            raise ValueError(f"frequency {self.frequency!r} is not one of {get_args(Frequency)}")
        if isinstance(self.lag_rule, str):
            object.__setattr__(self, "lag_rule", LagRule.parse(self.lag_rule))

    @property
    def column(self) -> str:
        return self.id.lower()

    @property
    def obs_column(self) -> str:
        return f"{self.column}_obs_date"

    @property
    def max_staleness(self) -> timedelta:
        return MAX_STALENESS[self.frequency]


#: What the default series are; their lag rules are `Settings.macro_lags`' defaults.
CATALOGUE: dict[str, tuple[Frequency, str]] = {
    "ANFCI": ("weekly", "Chicago Fed adjusted national financial conditions index"),
    "STLFSI4": ("weekly", "St. Louis Fed financial stress index"),
    "BAMLH0A0HYM2": ("daily", "ICE BofA US high yield option-adjusted spread, %"),
    "BAMLC0A0CM": ("daily", "ICE BofA US corporate (investment grade) option-adjusted spread, %"),
    "ICSA": ("weekly", "initial jobless claims, seasonally adjusted"),
    "CFNAI": ("monthly", "Chicago Fed national activity index"),
    "DCOILWTICO": ("daily", "WTI crude oil spot price, $/barrel"),
    "DGS30": ("daily", "30-year Treasury constant-maturity yield, %"),
    "T10YIE": ("daily", "10-year breakeven inflation rate, %"),
}
DEFAULT_LAGS: dict[str, str] = dict(Settings.model_fields["macro_lags"].default)
DEFAULT_SERIES: tuple[SeriesSpec, ...] = tuple(
    SeriesSpec(series_id, CATALOGUE[series_id][0], DEFAULT_LAGS[series_id], CATALOGUE[series_id][1])
    for series_id in Settings.model_fields["macro_series"].default
)


@dataclass
class MacroResult:
    """Observations of every requested series with their availability dates, and what to know
    about them: where they came from, notes for the log and the run's metadata, and the series
    too short to train on (`short_series`: dicts with series, first, last, observations, years).
    """

    frame: pl.DataFrame
    uris: list[str]
    series: list[str]
    notes: list[str] = field(default_factory=list)
    short_series: list[dict[str, Any]] = field(default_factory=list)
    source: str = "fred"
    synthetic: bool = False


def macro_specs(settings: Settings) -> list[SeriesSpec]:
    """The specs `settings` asks for: `macro_series` with `macro_lags` over the defaults."""
    if len(set(settings.macro_series)) != len(settings.macro_series):
        raise ValueError(f"macro_series lists a series twice: {settings.macro_series}")
    specs = []
    for series_id in settings.macro_series:
        text = settings.macro_lags.get(series_id) or DEFAULT_LAGS.get(series_id)
        if text is None:
            raise ValueError(
                f"macro series {series_id!r} has no publication-lag rule: add it to macro_lags "
                f"({RULE_GRAMMAR})"
            )
        try:
            rule = LagRule.parse(text)
        except ValueError as exc:
            raise ValueError(f"macro_lags[{series_id!r}]: {exc}") from exc
        frequency, description = CATALOGUE.get(series_id, (rule.frequency, ""))
        specs.append(SeriesSpec(series_id, frequency, rule, description))
    return specs


# --- calendar and availability ----------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based; -1 = last) given weekday (0 = Monday) of a month."""
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A holiday on a Saturday is observed on Friday, one on a Sunday on Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def us_federal_holidays(first_year: int, last_year: int) -> list[date]:
    """Observed US federal holidays of the years given (the post-1971 Monday rules)."""
    monday, thursday = 0, 3
    days: list[date] = []
    for year in range(first_year, last_year + 1):
        fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 11, 11), date(year, 12, 25)]
        if year >= 2021:
            fixed.append(date(year, 6, 19))
        days += [_observed(day) for day in fixed]
        if year >= 1986:
            days.append(_nth_weekday(year, 1, monday, 3))
        days += [
            _nth_weekday(year, 2, monday, 3),
            _nth_weekday(year, 5, monday, -1),
            _nth_weekday(year, 9, monday, 1),
            _nth_weekday(year, 10, monday, 2),
            _nth_weekday(year, 11, thursday, 4),
        ]
    return sorted(set(days))


def holidays_for(calendar: Calendar, first_year: int, last_year: int) -> list[date]:
    if calendar == "weekday":
        return []
    if calendar == "us_federal":
        return us_federal_holidays(first_year, last_year)
    raise ValueError(f"unknown calendar {calendar!r}; choose one of {get_args(Calendar)}")


def availability_expr(obs: pl.Expr, rule: LagRule, holidays: Sequence[date]) -> pl.Expr:
    """The availability date of each observation date in `obs` under `rule` (a Polars
    expression, so it runs inside a frame's `with_columns`); `holidays` must cover the years."""
    on_or_after = obs.dt.add_business_days(0, roll="forward", holidays=holidays)
    if rule.kind == "bday":
        if rule.n == 0:
            return on_or_after
        # From the business day on or before d, so that the first business day after a Saturday
        # is Monday (rolling forward first would make it Tuesday).
        return obs.dt.add_business_days(rule.n, roll="backward", holidays=holidays)
    if rule.kind == "day":
        shifted = obs + pl.duration(days=rule.n)
    elif rule.kind == "weekday":
        assert rule.weekday is not None
        ahead = (pl.lit(rule.weekday + 6, dtype=pl.Int32) - obs.dt.weekday().cast(pl.Int32)) % 7
        shifted = obs + pl.duration(days=ahead + 1 + 7 * rule.n)
    else:
        month_end = obs.dt.month_start().dt.offset_by(f"{rule.n}mo").dt.month_end()
        shifted = month_end.dt.add_business_days(0, roll="backward", holidays=holidays)
        return pl.max_horizontal(shifted, on_or_after)
    return shifted.dt.add_business_days(0, roll="forward", holidays=holidays)


def _years_spanned(dates: pl.Series, rule: LagRule) -> tuple[int, int]:
    first, last = dates.min(), dates.max()
    assert isinstance(first, date) and isinstance(last, date)
    ahead = rule.n // 12 + 1 if rule.kind == "monthend" else 1
    return first.year - 1, last.year + ahead + 1


def availability_dates(
    obs_dates: pl.Series | Iterable[date],
    rule: LagRule | str,
    calendar: Calendar = "us_federal",
) -> pl.Series:
    """The day each observation became public under `rule`, on `calendar`'s business days."""
    rule = LagRule.parse(rule) if isinstance(rule, str) else rule
    dates = obs_dates if isinstance(obs_dates, pl.Series) else pl.Series(list(obs_dates))
    dates = dates.cast(pl.Date).rename("obs_date")
    if dates.drop_nulls().is_empty():
        return pl.Series("available_date", [None] * dates.len(), dtype=pl.Date)
    holidays = holidays_for(calendar, *_years_spanned(dates.drop_nulls(), rule))
    frame = dates.to_frame().select(
        availability_expr(pl.col("obs_date"), rule, holidays).alias("available_date")
    )
    return frame["available_date"]


def _with_availability(
    observations: pl.DataFrame, spec: SeriesSpec, calendar: Calendar
) -> pl.DataFrame:
    """(obs_date, value) with values -> the long layout of `MACRO_SCHEMA` for one series."""
    if observations.is_empty():
        return pl.DataFrame(schema=MACRO_SCHEMA)
    assert isinstance(spec.lag_rule, LagRule)
    holidays = holidays_for(calendar, *_years_spanned(observations["obs_date"], spec.lag_rule))
    return observations.select(
        pl.lit(spec.id, dtype=pl.String).alias("series"),
        pl.col("obs_date"),
        availability_expr(pl.col("obs_date"), spec.lag_rule, holidays).alias("available_date"),
        pl.col("value"),
    )


# --- reading FRED files -----------------------------------------------------------------------


def _first_bad(frame: pl.DataFrame, bad: pl.Expr) -> tuple[int, str, int] | None:
    """(line, text, how many) of the first line where `bad` holds, if any."""
    hits = frame.filter(bad)
    if hits.is_empty():
        return None
    line, text = hits.select("line", "text").row(0)
    return int(line), str(text), hits.height


def _more(count: int) -> str:
    return f" (and {count - 1} more such line{'s' if count > 2 else ''})" if count > 1 else ""


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MacroInputError(path, line, f"not UTF-8 text (byte {exc.start})") from None


def _check_header(path: Path, header: str, series_id: str) -> None:
    names = [name.strip().strip('"').strip() for name in header.split(",")]
    expected = f"observation_date,{series_id}"
    if (
        len(names) != 2
        or names[0].lower() not in _DATE_HEADERS
        or not re.fullmatch(rf"{re.escape(series_id)}(_\d{{8}})?", names[1], re.IGNORECASE)
    ):
        raise MacroInputError(
            path, 1, f"header {header[:80]!r} is not {expected!r} (or DATE,{series_id})"
        )


def read_fred_csv(path: Path | str, series_id: str) -> pl.DataFrame:
    """One FRED CSV download as (obs_date, value), a null where FRED has no value (ALFRED's
    downloads, headed `<SERIES>_<YYYYMMDD>`, read the same).

    Strict on purpose: a misread macro file would shift every value it feeds into the model,
    so the file must be exactly what FRED writes, and the first problem of each kind is
    reported with its line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MacroInputError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc
    lines = _decode(path, raw).splitlines()
    if not lines or not "".join(lines).strip():
        raise MacroInputError(path, None, "the file is empty")
    _check_header(path, lines[0], series_id)
    body = pl.DataFrame(
        {
            "text": lines[1:],
            "line": pl.int_range(2, len(lines) + 1, dtype=pl.Int64, eager=True),
        },
        schema={"text": pl.String, "line": pl.Int64},
    ).filter(pl.col("text").str.strip_chars() != "")
    if body.is_empty():
        raise MacroInputError(path, None, "a header but no observations")

    fields = pl.col("text").str.split(",")
    cells = body.with_columns(
        fields.list.len().alias("fields"),
        fields.list.get(0, null_on_oob=True).str.strip_chars().str.strip_chars('"').alias("d"),
        fields.list.get(1, null_on_oob=True).str.strip_chars().str.strip_chars('"').alias("v"),
    )
    if bad := _first_bad(cells, pl.col("fields") != 2):
        line, text, count = bad
        raise MacroInputError(
            path,
            line,
            f"{text.count(',') + 1} fields where the header has 2: {text[:60]!r}{_more(count)}",
        )
    parsed = cells.with_columns(
        pl.col("d").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("obs_date"),
        pl.when(pl.col("v").is_in(_MISSING))
        .then(None)
        .otherwise(pl.col("v").cast(pl.Float64, strict=False))
        .alias("value"),
    )
    if bad := _first_bad(parsed, pl.col("obs_date").is_null()):
        line, text, count = bad
        raise MacroInputError(
            path, line, f"not a date (YYYY-MM-DD): {text.split(',')[0][:40]!r}{_more(count)}"
        )
    not_number = ~pl.col("v").is_in(_MISSING) & ~pl.col("value").is_finite().fill_null(False)
    if bad := _first_bad(parsed, not_number):
        line, text, count = bad
        raise MacroInputError(
            path,
            line,
            f"not a number: {text.split(',', 1)[1].strip()[:40]!r} (a missing value is an "
            f"empty cell or '.'){_more(count)}",
        )
    order = parsed.with_columns(previous=pl.col("obs_date").shift(1))
    if bad := _first_bad(order, pl.col("obs_date") <= pl.col("previous")):
        line, _, count = bad
        row = order.filter(pl.col("line") == line).row(0, named=True)
        kind = "repeats" if row["obs_date"] == row["previous"] else "comes before"
        raise MacroInputError(
            path,
            line,
            f"date {row['obs_date']} {kind} the previous line's {row['previous']} (FRED writes "
            f"each date once, in increasing order){_more(count)}",
        )
    table = parsed.select("obs_date", "value")
    if table["value"].null_count() == table.height:
        raise MacroInputError(path, None, "no observations: every value is missing")
    return table


def _observations(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter(pl.col("value").is_not_null()).select("obs_date", "value")


def _describe(spec: SeriesSpec, table: pl.DataFrame, where: str) -> str:
    observed = table.filter(pl.col("value").is_not_null())["obs_date"]
    return (
        f"{spec.id}: {observed.len()} observations {observed.min()} .. {observed.max()} "
        f"({spec.frequency}, available {spec.lag_rule}) from {where}"
    )


def read_macro_dir(
    folder: Path | str,
    specs: Sequence[SeriesSpec] = DEFAULT_SERIES,
    *,
    calendar: Calendar = "us_federal",
    min_years: float = 5.0,
    start: date | None = None,
    end: date | None = None,
) -> MacroResult:
    """The series `specs` from `<folder>/<SERIES>.csv` (FRED downloads), point in time.

    Every observation is kept whatever `start`/`end` say (the first rows of a join need values
    observed before its start); the window only bounds the span `short_series` measures.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MacroInputError(folder, None, "the macro folder does not exist or is not a folder")
    pieces, uris, notes = [], [], []
    for spec in specs:
        path = folder / f"{spec.id}.csv"
        if not path.is_file():
            raise MacroInputError(path, None, f"no file for series {spec.id} (expected {path})")
        table = read_fred_csv(path, spec.id)
        pieces.append(_with_availability(_observations(table), spec, calendar))
        uris.append(str(path))
        notes.append(_describe(spec, table, str(path)))
    synthetic = (folder / SYNTHETIC_MARKER).is_file()
    if synthetic:
        notes.insert(0, f"synthetic macro data ({folder / SYNTHETIC_MARKER}), not FRED's")
    else:
        notes.insert(0, _NOTE_VINTAGE)
    frame = _concat(pieces)
    series = [spec.id for spec in specs]
    return MacroResult(
        frame=frame,
        uris=uris,
        series=series,
        notes=notes,
        short_series=find_short_series(frame, series, min_years, start, end),
        source="folder",
        synthetic=synthetic,
    )


_NOTE_VINTAGE = (
    "FRED's latest vintage: revised values, dated point in time by publication-lag rules but "
    "not as first published"
)
_ICE_SERIES = frozenset({"BAMLH0A0HYM2", "BAMLC0A0CM"})


def _concat(pieces: list[pl.DataFrame]) -> pl.DataFrame:
    if not pieces:
        return pl.DataFrame(schema=MACRO_SCHEMA)
    return pl.concat(pieces, how="vertical").cast(MACRO_SCHEMA)  # type: ignore[arg-type]


# --- downloading ------------------------------------------------------------------------------


def fetch_macro(
    specs: Sequence[SeriesSpec],
    settings: Settings,
    session: requests.Session | None = None,
) -> MacroResult:
    """The series `specs` from FRED (or, with `settings.macro_vintage_date`, ALFRED) through
    pandas-datareader and our HTTP session; a failed or malformed download is a `SourceError`.

    Downloads reach back `FETCH_LOOKBACK` before `settings.start` so that the first days of the
    window have the values published before it; `short_series` measures [start, end] only.
    """
    # Imported here: reading folders must not need the network stack.
    from volpred.data.sources import fred, http

    start, end = http.request_window(settings, None, settings.fred_start)
    vintage = settings.macro_vintage_date
    pieces, uris, notes = [], [], []
    with http.session_scope(settings, session) as active:
        for spec in specs:
            table, uri = fred.fetch_series(
                spec.id,
                "value",
                start - FETCH_LOOKBACK,
                end,
                settings,
                active,
                max_staleness=spec.max_staleness,
                vintage_date=vintage,
            )
            table = table.rename({DATE: "obs_date"})
            pieces.append(_with_availability(_observations(table), spec, settings.macro_calendar))
            uris.append(uri)
            notes.append(_describe(spec, table, uri))
    if vintage is not None:
        notes.insert(0, f"ALFRED vintage of {vintage}: the values as published that day")
    else:
        notes.insert(0, _NOTE_VINTAGE)
    ice = [spec.id for spec in specs if spec.id in _ICE_SERIES]
    if ice:
        notes.append(
            f"FRED serves only about the last three years of the ICE BofA series ({', '.join(ice)})"
            " online; a longer history needs files (macro_dir)"
        )
    frame = _concat(pieces)
    series = [spec.id for spec in specs]
    return MacroResult(
        frame=frame,
        uris=uris,
        series=series,
        notes=notes,
        short_series=find_short_series(
            frame, series, settings.macro_min_years, settings.start, settings.end
        ),
        source="alfred" if vintage is not None else "fred",
    )


def find_short_series(
    frame: pl.DataFrame,
    series: Sequence[str],
    min_years: float,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Series with fewer than `min_years` between the first and last observation a join over
    [start, end] would use (pass the daily table's first and last date), with a warning each.

    The span is taken on availability dates: those are what the join matches, so a monthly
    value dated the day before `start` and published within the window counts. Short series
    are reported, not dropped: what to do with them is the model's choice.
    """
    span = frame
    if start is not None:
        span = span.filter(pl.col("available_date") >= start)
    if end is not None:
        span = span.filter(pl.col("available_date") <= end)
    stats = {
        row["series"]: row
        for row in span.group_by("series")
        .agg(
            pl.col("obs_date").min().alias("first"),
            pl.col("obs_date").max().alias("last"),
            pl.len().alias("observations"),
        )
        .iter_rows(named=True)
    }
    short = []
    for series_id in series:
        row = stats.get(series_id, {"first": None, "last": None, "observations": 0})
        first, last = row["first"], row["last"]
        years = (last - first).days / 365.25 if first is not None else 0.0
        if years >= min_years:
            continue
        entry = {
            "series": series_id,
            "first": first,
            "last": last,
            "observations": int(row["observations"]),
            "years": round(years, 2),
        }
        short.append(entry)
        logger.warning(
            "macro series %s: %d observations over %.1f years (%s .. %s), fewer than %g years: "
            "too short to train on (still joined)",
            series_id,
            entry["observations"],
            years,
            first,
            last,
            min_years,
        )
    return short


# --- the as-of join ---------------------------------------------------------------------------


def join_macro(
    daily: pl.DataFrame, macro: pl.DataFrame, series: Sequence[str] | None = None
) -> pl.DataFrame:
    """`daily` (a `date` column of dtype Date, any order) with, per series, `<id>` and
    `<id>_obs_date`: the newest observation whose availability date is on or before the row's
    date, or nulls before the first one. Rows keep their order.

    `series` fixes which series and in what order (a series without observations gives null
    columns); by default those in `macro`, in order of appearance.
    """
    if DATE not in daily.columns or daily.schema[DATE] != pl.Date:
        raise ValueError(f"the daily table needs a {DATE!r} column of dtype Date")
    missing = set(MACRO_SCHEMA) - set(macro.columns)
    if missing:
        raise ValueError(f"the macro frame lacks columns {sorted(missing)}")
    if series is None:
        series = macro["series"].unique(maintain_order=True).to_list()
    added = [name for sid in series for name in (sid.lower(), f"{sid.lower()}_obs_date")]
    clash = sorted(set(added) & set(daily.columns))
    if clash:
        raise ValueError(f"the daily table already has columns {clash}")

    row = "__volpred_row"
    out = daily.with_row_index(row).sort(DATE)
    for series_id in series:
        column = series_id.lower()
        published = (
            macro.filter(pl.col("series") == series_id, pl.col("value").is_not_null())
            .select("available_date", "value", "obs_date")
            .sort("available_date", "obs_date")
            # An observation published no later than a newer one is never the newest known.
            .filter(
                pl.col("obs_date").cum_max().shift(1).is_null()
                | (pl.col("obs_date") > pl.col("obs_date").cum_max().shift(1))
            )
            .unique(subset="available_date", keep="last", maintain_order=True)
            .rename({"value": column, "obs_date": f"{column}_obs_date"})
        )
        out = out.join_asof(
            published, left_on=DATE, right_on="available_date", strategy="backward"
        ).drop("available_date")
    return out.sort(row).drop(row)


# --- sample data ------------------------------------------------------------------------------

_SYNTHETIC_TEXT = """SYNTHETIC DATA - NOT FROM FRED.

The {count} files in this folder were generated by volpred's offline `sample` source
(volpred.data.sources.sample_macro, seed {seed}, {start} .. {end}) in FRED's CSV layout, so that
the macro reader can be exercised without a network. They imitate the frequencies, observation
days and rough levels of the FRED series of the same names and move with the synthetic market's
volatility; they are not economic history.
"""


def write_sample_macro(folder: Path | str, settings: Settings) -> list[Path]:
    """Write synthetic FRED-format files for the default series into `folder` (made if needed),
    plus `SYNTHETIC.txt`, which `read_macro_dir` turns into `synthetic=True` and a note; returns
    the CSV paths. Each file is replaced atomically."""
    from volpred.data.sources import sample_macro

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = sample_macro.simulate_macro(settings.sample_start, settings.sample_end, settings.seed)
    paths = []
    for series_id in [spec.id for spec in DEFAULT_SERIES if spec.id in frames]:
        text = (
            frames[series_id]
            .rename({"value": series_id})
            .write_csv(null_value="", date_format="%Y-%m-%d", line_terminator="\n")
        )
        paths.append(atomic_write_text(folder / f"{series_id}.csv", text))
    marker = _SYNTHETIC_TEXT.format(
        count=len(paths), seed=settings.seed, start=settings.sample_start, end=settings.sample_end
    )
    atomic_write_text(folder / SYNTHETIC_MARKER, marker)
    logger.info("wrote %d synthetic macro files to %s", len(paths), folder)
    return paths
