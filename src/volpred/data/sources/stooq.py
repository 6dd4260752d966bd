"""SPX daily OHLCV from Stooq's CSV download, read with requests and parsed strictly with polars.

pandas-datareader 0.11 removed its Stooq reader, and since March 2026 Stooq serves data only with
an API key (pandas-datareader cannot send one); without one it answers with an HTML page asking for
it. So this is a small reader of our own: the key comes from `Settings.stooq_api_key`, is sent as
the `apikey` query parameter and is redacted (`apikey=***`) wherever the URL is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

import polars as pl
import requests

from volpred.config import Settings
from volpred.data import schema
from volpred.data.sources import http
from volpred.data.sources.base import SourceError, SourceResult

logger = logging.getLogger(__name__)

SOURCE = "stooq"
API_KEY_ENV = "VOLPRED_STOOQ_API_KEY"
#: Stooq's CSV header, in order, -> canonical column. Indices sometimes come without Volume.
COLUMNS: dict[str, str] = {
    "Date": schema.DATE,
    "Open": "spx_open",
    "High": "spx_high",
    "Low": "spx_low",
    "Close": "spx_close",
    "Volume": "spx_volume",
}
OPTIONAL_TRAILING_COLUMN = "Volume"
#: Stooq wants d1/d2 as YYYYMMDD and writes dates as YYYY-MM-DD.
PARAM_DATE_FORMAT = "%Y%m%d"
CSV_DATE_FORMAT = "%Y-%m-%d"


def request_params(settings: Settings, start: date, end: date) -> dict[str, str]:
    """Query parameters of the daily CSV download for `settings.stooq_symbol`, key not included."""
    return {
        "s": settings.stooq_symbol,
        "i": "d",
        "d1": start.strftime(PARAM_DATE_FORMAT),
        "d2": end.strftime(PARAM_DATE_FORMAT),
    }


def _api_key(settings: Settings, uri: str) -> str:
    """The configured key, or a `SourceError` saying how to configure it (no request is made)."""
    key = settings.stooq_api_key.get_secret_value().strip() if settings.stooq_api_key else ""
    if not key:
        raise SourceError(
            SOURCE,
            uri,
            f"no Stooq API key configured: set {API_KEY_ENV} "
            "(Stooq serves CSV data only with an API key since March 2026)",
        )
    return key


def _expected_headers() -> list[list[str]]:
    full = list(COLUMNS)
    return [full, [c for c in full if c != OPTIONAL_TRAILING_COLUMN]]


def _check_is_csv(lines: list[str], text: str, uri: str, secrets: tuple[str, ...]) -> list[str]:
    """Return the header fields, or say what came back instead of CSV (page, message, header)."""
    quote = http.snippet(text, secrets)
    if not lines or not text.strip():
        raise SourceError(SOURCE, uri, "empty answer (no data)")
    if http.looks_like_html(text):
        raise SourceError(
            SOURCE, uri, f"answered with an HTML page instead of CSV (key request?): {quote!r}"
        )
    header = [field.strip() for field in lines[0].split(",")]
    if header in _expected_headers():
        return header
    if len(header) == 1:
        raise SourceError(SOURCE, uri, f"answered with a text message instead of CSV: {quote!r}")
    raise SourceError(
        SOURCE,
        uri,
        f"line 1: unexpected CSV header {http.snippet(lines[0], secrets)!r} "
        f"(expected {','.join(COLUMNS)!r})",
    )


def _check_field_counts(lines: list[str], width: int, uri: str) -> None:
    """Every data line has exactly `width` fields; a short last line means a truncated answer.

    polars would silently pad short lines with nulls, so this is checked before parsing.
    """
    for number, line in enumerate(lines[1:], start=2):
        count = line.count(",") + 1
        if count != width:
            hint = " (truncated answer?)" if number == len(lines) else ""
            raise SourceError(
                SOURCE,
                uri,
                f"line {number}: expected {width} fields, got {count}: {line[:60]!r}{hint}",
            )


def _first_failure(parsed: pl.Series, raw: pl.Series) -> int | None:
    """Row index of the first value present in `raw` that did not survive parsing, if any."""
    failed = raw.is_not_null() & parsed.is_null()
    if parsed.dtype == pl.Float64:
        failed = failed | parsed.is_nan().fill_null(False)
    hits = failed.arg_true()
    return int(hits[0]) if hits.len() else None


def _parse_column(raw: pl.Series, name: str, uri: str) -> pl.Series:
    """Parse one text column strictly; errors name the line (header is line 1) and the column."""
    if name == "Date":
        parsed = raw.str.strptime(pl.Date, CSV_DATE_FORMAT, strict=False)
        what = f"a {CSV_DATE_FORMAT} date"
    else:
        parsed = raw.str.strip_chars().cast(pl.Float64, strict=False)
        what = "a number"
    row = _first_failure(parsed, raw)
    if row is not None:
        raise SourceError(
            SOURCE, uri, f"line {row + 2}, column {name}: cannot parse {raw[row][:40]!r} as {what}"
        )
    return parsed.alias(COLUMNS[name])


def _require_values(frame: pl.DataFrame, uri: str) -> None:
    """Date and Close make a row; an empty one of those is a damaged answer, not a missing value."""
    for column, name in ((schema.DATE, "Date"), ("spx_close", "Close")):
        hits = frame[column].is_null().arg_true()
        if hits.len():
            raise SourceError(SOURCE, uri, f"line {int(hits[0]) + 2}, column {name}: empty value")


def parse_csv(text: str, uri: str, secrets: tuple[str, ...] = ()) -> pl.DataFrame:
    """Stooq's daily CSV as a canonical frame (SPX columns filled), in file order.

    Strict on purpose: a wrong header, an unparsable value or a short line raises `SourceError`
    naming the line and column instead of becoming a null that later stages would fill in.
    """
    text = text.lstrip("\ufeff")
    lines = text.rstrip("\r\n").splitlines()
    header = _check_is_csv(lines, text, uri, secrets)
    _check_field_counts(lines, len(header), uri)
    raw = pl.read_csv(text.encode(), infer_schema=False, has_header=True)
    frame = pl.DataFrame([_parse_column(raw[name], name, uri) for name in header])
    _require_values(frame, uri)
    return schema.conform(frame)


def _check_rows(frame: pl.DataFrame, start: date, end: date, uri: str) -> pl.DataFrame:
    """Keep [start, end], sorted; no rows, duplicated days or stale data are errors."""
    frame = frame.filter(pl.col(schema.DATE).is_between(start, end)).sort(schema.DATE)
    if frame.is_empty():
        raise SourceError(SOURCE, uri, f"no rows between {start} and {end} (header only?)")
    duplicated = frame.filter(pl.col(schema.DATE).is_duplicated())
    if not duplicated.is_empty():
        raise SourceError(SOURCE, uri, f"duplicated date {duplicated[schema.DATE][0]}")
    http.check_fresh(SOURCE, uri, "the data", frame[schema.DATE].max(), end)
    return frame


def _uri(url: str, params: Mapping[str, str], secrets: tuple[str, ...]) -> str:
    return http.redact(http.full_url(url, params), secrets)


def load(
    settings: Settings, since: date | None = None, session: requests.Session | None = None
) -> SourceResult:
    """SPX daily OHLCV from Stooq for [since or start, end or today]."""
    start, end = http.request_window(settings, since, settings.fred_start)
    secrets = http.secrets_of(settings)
    params = request_params(settings, start, end)
    key = _api_key(settings, _uri(settings.stooq_url, params, secrets))
    params["apikey"] = key
    uri = _uri(settings.stooq_url, params, secrets)
    http.check_window(SOURCE, uri, start, end)
    with http.session_scope(settings, session) as active:
        text = http.get_text(active, SOURCE, settings.stooq_url, params, settings)
    frame = _check_rows(parse_csv(text, uri, secrets), start, end, uri)
    logger.info(
        "%s: %d rows from %s to %s",
        SOURCE,
        frame.height,
        frame[schema.DATE].min(),
        frame[schema.DATE].max(),
    )
    notes = [f"Stooq {settings.stooq_symbol} daily OHLCV; VIX and rates columns are null"]
    return SourceResult(frame=frame, source=SOURCE, uris=[uri], notes=notes)
