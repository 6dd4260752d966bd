"""The live source: SPX OHLCV from Stooq, VIX close and Treasury rates from FRED.

Stooq needs an API key and sometimes answers with a page instead of data; FRED needs none but has
SPX closes only (and for ten years). So Stooq is preferred and FRED's SP500 closes are the
fallback, said in `SourceResult.notes` and logged at WARNING, so a degraded run is never silent.
Rows are SPX trading days: Stooq's dates, or SP500's in the fallback.
"""

from __future__ import annotations

import logging
from datetime import date

import polars as pl
import requests

from volpred.config import Settings
from volpred.data import schema
from volpred.data.sources import fred, http, stooq
from volpred.data.sources.base import SourceError, SourceResult

logger = logging.getLogger(__name__)

SOURCE = "live"
#: Columns each side contributes to the joined frame.
SPX_COLUMNS: list[str] = [schema.DATE, *schema.SPX_OHLC, "spx_volume"]
VIX_RATE_COLUMNS: list[str] = [schema.DATE, *schema.VIX_OHLC, *schema.RATES]

NOTE_STOOQ = "SPX OHLCV from Stooq; VIX close and rates from FRED (VIX open/high/low null)"
NOTE_FALLBACK = (
    "SPX closes from FRED SP500 because Stooq was not usable ({reason}); "
    "spx_open/high/low/volume and VIX open/high/low are null"
)


def _spx(
    settings: Settings, since: date | None, session: requests.Session
) -> tuple[SourceResult, list[str]]:
    """SPX rows from Stooq, or from FRED's SP500 closes when Stooq fails for any reason."""
    try:
        result = stooq.load(settings, since, session)
    except SourceError as exc:
        note = NOTE_FALLBACK.format(reason=exc.reason)
        logger.warning("%s: %s", SOURCE, note)
        try:
            fallback = fred.load_spx_close(settings, since, session)
        except SourceError as failed:
            # Name both failures: the fallback's alone would hide why Stooq was not used.
            raise SourceError(
                SOURCE,
                f"{exc.uri} and {failed.uri}",
                f"Stooq failed ({exc.reason}) and so did the FRED SP500 fallback ({failed.reason})",
            ) from failed
        return fallback, [note, *fallback.notes]
    logger.info("%s: %s", SOURCE, NOTE_STOOQ)
    return result, [NOTE_STOOQ]


def join_on_spx_days(spx: pl.DataFrame, vix_rates: pl.DataFrame) -> pl.DataFrame:
    """SPX trading days, each with that day's VIX close and rates (null where FRED has none)."""
    joined = spx.select(SPX_COLUMNS).join(
        vix_rates.select(VIX_RATE_COLUMNS), on=schema.DATE, how="left"
    )
    return schema.conform(joined).sort(schema.DATE)


def load(
    settings: Settings, since: date | None = None, session: requests.Session | None = None
) -> SourceResult:
    """Stooq SPX (or FRED SP500 fallback) joined with FRED VIX and rates on SPX trading days.

    FRED is read first: without VIX there is nothing to build, so fail before spending a Stooq
    request (Stooq limits daily downloads).
    """
    with http.session_scope(settings, session) as active:
        vix_rates = fred.load_rates_vix(settings, since, active)
        spx, notes = _spx(settings, since, active)
    frame = join_on_spx_days(spx.frame, vix_rates.frame)
    logger.info("%s: %d SPX trading days", SOURCE, frame.height)
    return SourceResult(
        frame=frame,
        source=SOURCE,
        uris=[*spx.uris, *vix_rates.uris],
        notes=[*notes, *vix_rates.notes],
    )
