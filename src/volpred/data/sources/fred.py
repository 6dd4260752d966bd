"""FRED through pandas-datareader: SPX closes (SP500), VIX close (VIXCLS) and Treasury rates.

pandas-datareader's `FredReader` downloads each series' whole history from
`https://fred.stlouisfed.org/graph/fredgraph.csv?id=<SERIES>` (no date parameters are sent) and
truncates it to [start, end] locally, so `since` limits the rows returned, not the bytes fetched.
It is given our session (timeouts, retries), `retry_count=0` and `pause=0` so that its own retry
loop does not multiply ours, and `timeout=settings.http_timeout` because it always passes a timeout
(30 s by default) that would override the session's.

FRED keeps SP500 for ten years only and as closes only: SPX open/high/low/volume and VIX
open/high/low stay null. Rows are the SPX trading days, i.e. the days SP500 has a value.

`fetch_series` also serves `volpred.data.macro`, whose weekly and monthly series need a looser
staleness limit, and which can ask ALFRED (the same CSV layout, behind a `vintage_date`
parameter) for a series as it was published on a given day.
"""

from __future__ import annotations

import logging
import re
import warnings
from datetime import date, timedelta
from io import StringIO

import pandas as pd
import polars as pl
import requests
from pandas_datareader.fred import FredReader

from volpred.config import Settings
from volpred.data import schema
from volpred.data.sources import http
from volpred.data.sources.base import SourceError, SourceResult

logger = logging.getLogger(__name__)

SOURCE = "fred"
#: Where `FredReader` sends its GETs (its `url`); it appends `?id=<SERIES>` and nothing else.
FRED_CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
#: ALFRED's keyless CSV download: FRED's layout, one vintage (`vintage_date`) per request.
ALFRED_CSV_URL = "https://alfred.stlouisfed.org/graph/alfredgraph.csv"
#: FRED series id -> canonical column.
SPX_SERIES: dict[str, str] = {"SP500": "spx_close"}
VIX_RATE_SERIES: dict[str, str] = {
    "VIXCLS": "vix_close",
    "DGS10": "dgs10",
    "DGS2": "dgs2",
    "T10Y2Y": "t10y2y",
}
#: What pandas-datareader and pandas raise for network trouble (RemoteDataError is an OSError)
#: and for answers that are not the expected two-column CSV (ParserError is a ValueError;
#: HTML pages end in TypeError/ValueError from `truncate`, KeyError/IndexError in its error probe).
_READER_FAILURES = (OSError, ValueError, TypeError, KeyError, IndexError)
_HTTP_STATUS = re.compile(r"\bHTTP \d{3}\b")

NOTE_CLOSES_ONLY = (
    "FRED has SPX and VIX closes only: spx_open/high/low/volume and vix_open/high/low are null"
)


class HtmlAnswerError(ValueError):
    """FRED answered with a web page (error or maintenance page) instead of CSV."""


class TruncatedAnswerError(ValueError):
    """FRED's CSV ends without a line break: the answer was cut off mid-line."""


class _VolpredFredReader(FredReader):
    """`FredReader` that keeps the session open and refuses web pages before pandas parses them.

    `FredReader.read` closes its session when done, which would drop the connection pool we share
    across series (and the caller's, when injected). And pandas would read an HTML page as a
    header plus junk rows, which ends as a misleading parse error or an empty table.
    """

    def close(self) -> None:
        """Deliberately a no-op; `http.session_scope` closes sessions we own."""

    @staticmethod
    def _sanitize_response(response: requests.Response) -> bytes:
        """pandas-datareader's hook for cleaning a response body; here it rejects HTML."""
        content: bytes = response.content
        head = content[: http.SNIPPET_CHARS * 8].decode("utf-8", errors="replace")
        if http.looks_like_html(head):
            raise HtmlAnswerError(http.snippet(head))
        # FRED ends every line, the last included, with a line break. Without one the answer was
        # cut off mid-line, and pandas would read "5101.5" cut to "51" as a plausible close.
        if content.strip() and not content.endswith(b"\n"):
            last = content.rsplit(b"\n", 1)[-1][:40].decode("utf-8", errors="replace")
            raise TruncatedAnswerError(
                f"truncated answer: the last line {last!r} ends without a line break"
            )
        return content


class _VintageFredReader(_VolpredFredReader):
    """The same reader pointed at ALFRED, asking for the series as published on one day.

    `FredReader._read` builds `<url>?id=<SERIES>` itself, so the vintage travels as an extra
    query parameter that requests merges into that URL; parsing, our session and the HTML and
    truncation checks stay exactly those of FRED answers.
    """

    def __init__(self, *args: object, vintage_date: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.vintage_date = vintage_date

    @property
    def url(self) -> str:
        return ALFRED_CSV_URL

    def _read_url_as_StringIO(  # noqa: N802
        self, url: str, params: dict[str, str] | None = None
    ) -> StringIO:
        vintage = {"vintage_date": self.vintage_date.isoformat()}
        return super()._read_url_as_StringIO(url, params={**(params or {}), **vintage})


def _reader(
    series_id: str,
    start: date,
    end: date,
    settings: Settings,
    session: requests.Session,
    vintage_date: date | None = None,
) -> FredReader:
    options = dict(
        start=start,
        end=end,
        retry_count=0,
        pause=0.0,
        timeout=settings.http_timeout,
        session=session,
    )
    if vintage_date is not None:
        return _VintageFredReader(series_id, vintage_date=vintage_date, **options)
    return _VolpredFredReader(series_id, **options)


def series_uri(series_id: str, vintage_date: date | None = None) -> str:
    """The URL `FredReader._read` requests for one series (ALFRED's, for a vintage)."""
    if vintage_date is not None:
        return f"{ALFRED_CSV_URL}?id={series_id}&vintage_date={vintage_date.isoformat()}"
    return f"{FRED_CSV_URL}?id={series_id}"


def _describe_reader_failure(exc: Exception, attempts: int) -> str:
    """Turn pandas-datareader's flattened messages into 'kind: detail' without repeating the URL.

    Its `RemoteDataError` keeps only the text of the requests exception, so the kind (timeout,
    DNS, refused) is recovered from that text; statuses already read "HTTP 500 ... attempts".
    """
    if isinstance(exc, HtmlAnswerError):
        return f"answered with an HTML page instead of CSV: {str(exc)!r}"
    if isinstance(exc, TruncatedAnswerError):
        return f"answer is not a FRED CSV: {exc}"
    text = re.sub(r"Unable to read URL:\s*\S+", "", str(exc))
    text = text.replace("Response Text:", "answer:").replace("Exception:", "")
    detail = http.snippet(text)
    if not isinstance(exc, OSError):
        return f"answer is not a FRED CSV: {type(exc).__name__}: {detail}"
    if "returned no data" in text:
        return "empty answer (no data)"
    if _HTTP_STATUS.search(text):
        return detail
    kind = http.failure_kind(text) or "request failed"
    return f"{kind}: {detail} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})"


def _read(reader: FredReader, series_id: str, uri: str) -> pd.DataFrame:
    """Run the reader and convert everything it can raise into `SourceError`.

    Catching broadly is deliberate: this is the boundary with a library whose parsing failures
    surface as assorted built-in exceptions (see `_READER_FAILURES`).
    """
    logger.info("%s: fetching %s", SOURCE, uri)
    try:
        with warnings.catch_warnings():
            # pandas warns while guessing date formats in junk answers; we report those ourselves.
            warnings.simplefilter("ignore", UserWarning)
            return reader.read()
    except _READER_FAILURES as exc:
        cause = _describe_reader_failure(exc, http.attempts_for(reader.session, uri))
        raise SourceError(SOURCE, uri, f"series {series_id}: {cause}") from exc


def _to_polars(raw: pd.DataFrame, series_id: str, column: str, uri: str) -> pl.DataFrame:
    """pandas (DatetimeIndex, one column) -> polars (date, column) with nulls, never NaN."""
    if raw.empty:
        raise SourceError(
            SOURCE,
            uri,
            f"series {series_id}: no observations in the requested window "
            "(header-only answer, or a window outside the series)",
        )
    if not isinstance(raw.index, pd.DatetimeIndex) or list(raw.columns) != [series_id]:
        raise SourceError(
            SOURCE,
            uri,
            f"series {series_id}: answer is not a FRED CSV (columns {list(raw.columns)}, "
            f"index {raw.index.dtype})",
        )
    table = pl.from_pandas(raw.reset_index())
    table = table.rename({table.columns[0]: schema.DATE, series_id: column})
    values = table[column]
    numbers = values.cast(pl.Float64, strict=False)
    bad = values.is_not_null() & numbers.is_null()
    if bad.any():
        row = table.filter(bad).row(0, named=True)
        raise SourceError(
            SOURCE,
            uri,
            f"series {series_id}: non-numeric value {str(row[column])[:40]!r} on "
            f"{row[schema.DATE]:%Y-%m-%d}",
        )
    return table.select(
        pl.col(schema.DATE).cast(pl.Date),
        numbers.fill_nan(None).alias(column),
    )


def _check_observations(
    table: pl.DataFrame,
    series_id: str,
    column: str,
    uri: str,
    end: date,
    max_staleness: timedelta = http.MAX_STALENESS,
) -> None:
    """No values at all, duplicated days or data stopping long before `end` are all errors."""
    observed = table.filter(pl.col(column).is_not_null())
    if observed.is_empty():
        raise SourceError(SOURCE, uri, f"series {series_id}: only missing values in the window")
    if table[schema.DATE].is_duplicated().any():
        raise SourceError(SOURCE, uri, f"series {series_id}: duplicated dates")
    http.check_fresh(
        SOURCE, uri, f"series {series_id}", observed[schema.DATE].max(), end, max_staleness
    )


def fetch_series(
    series_id: str,
    column: str,
    start: date,
    end: date,
    settings: Settings,
    session: requests.Session,
    *,
    max_staleness: timedelta = http.MAX_STALENESS,
    vintage_date: date | None = None,
) -> tuple[pl.DataFrame, str]:
    """One FRED series as a (date, column) polars frame, and the URL it came from.

    `max_staleness`: how long before `end` the last value may lie (a monthly series published
    weeks after its month needs more than a daily one). `vintage_date`: ask ALFRED for the
    series as published that day instead of FRED's latest values; `end` is then capped there,
    since nothing later can be in that vintage.
    """
    uri = series_uri(series_id, vintage_date)
    if vintage_date is not None:
        end = min(end, vintage_date)
    http.check_window(SOURCE, uri, start, end)
    reader = _reader(series_id, start, end, settings, session, vintage_date)
    table = _to_polars(_read(reader, series_id, uri), series_id, column, uri)
    _check_observations(table, series_id, column, uri, end, max_staleness)
    logger.info(
        "%s: %s: %d rows (%d with values)",
        SOURCE,
        series_id,
        table.height,
        table[column].is_not_null().sum(),
    )
    return table, uri


def _fetch_all(
    series: dict[str, str],
    start: date,
    end: date,
    settings: Settings,
    session: requests.Session,
) -> tuple[pl.DataFrame, list[str]]:
    """Several series outer-joined on date; one request per series so errors name the series."""
    joined: pl.DataFrame | None = None
    uris: list[str] = []
    for series_id, column in series.items():
        table, uri = fetch_series(series_id, column, start, end, settings, session)
        uris.append(uri)
        if joined is None:
            joined = table
        else:
            joined = joined.join(table, on=schema.DATE, how="full", coalesce=True)
    if joined is None:
        raise ValueError("no FRED series requested")
    return joined.sort(schema.DATE), uris


def _window(settings: Settings, since: date | None) -> tuple[date, date]:
    return http.request_window(settings, since, settings.fred_start)


def load_spx_close(
    settings: Settings, since: date | None = None, session: requests.Session | None = None
) -> SourceResult:
    """SPX closes (SP500) on the days they exist; every other canonical column null."""
    start, end = _window(settings, since)
    with http.session_scope(settings, session) as active:
        spx, uris = _fetch_all(SPX_SERIES, start, end, settings, active)
    frame = schema.conform(spx.filter(pl.col("spx_close").is_not_null()))
    notes = [_coverage_note(frame, start)]
    return SourceResult(frame=frame, source=SOURCE, uris=uris, notes=notes)


def load_rates_vix(
    settings: Settings, since: date | None = None, session: requests.Session | None = None
) -> SourceResult:
    """VIX close and Treasury rates keyed by date (days any has a value); SPX columns null.

    Meant for `live`, which takes the SPX side from Stooq and joins these on its trading days.
    """
    start, end = _window(settings, since)
    with http.session_scope(settings, session) as active:
        table, uris = _fetch_all(VIX_RATE_SERIES, start, end, settings, active)
    columns = list(VIX_RATE_SERIES.values())
    table = table.filter(pl.any_horizontal(pl.col(columns).is_not_null()))
    return SourceResult(frame=schema.conform(table), source=SOURCE, uris=uris)


def load(
    settings: Settings, since: date | None = None, session: requests.Session | None = None
) -> SourceResult:
    """SPX closes, VIX close and rates from FRED, one row per day SP500 has a value."""
    start, end = _window(settings, since)
    with http.session_scope(settings, session) as active:
        spx, spx_uris = _fetch_all(SPX_SERIES, start, end, settings, active)
        rest, rest_uris = _fetch_all(VIX_RATE_SERIES, start, end, settings, active)
    days = spx.filter(pl.col("spx_close").is_not_null())
    frame = schema.conform(days.join(rest, on=schema.DATE, how="left")).sort(schema.DATE)
    logger.info("%s: %d SPX trading days from %s to %s", SOURCE, frame.height, start, end)
    notes = [NOTE_CLOSES_ONLY, _coverage_note(frame, start)]
    return SourceResult(frame=frame, source=SOURCE, uris=spx_uris + rest_uris, notes=notes)


def _coverage_note(frame: pl.DataFrame, start: date) -> str:
    """Say where SP500 actually starts: FRED keeps ten years, so 1990 requests begin much later."""
    first = frame[schema.DATE].min()
    return f"FRED SP500 closes cover {first} to {frame[schema.DATE].max()} (requested from {start})"
