"""The dashboard's API calls, cached so that switching pages or moving a slider is instant.

Successful answers are kept for `TTL` seconds (the API reloads a new model or new data within
about a second of it being written, so a minute-old view is at most a minute stale). A failure
raises and is not cached: the next rerun asks again, so the page recovers as soon as the API
does. Every function takes the `ApiConfig` as its first argument, so dashboards pointed at
different APIs (tests do that) never share entries.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from volpred.config import Settings
from volpred.serving.dashboard import events
from volpred.serving.dashboard.client import ApiClient, ApiConfig

TTL = 60
READY_TTL = 15
#: After the API failed to answer, calls fail at once for this long (see ApiClient).
QUIET_AFTER_FAILURE = 10.0


def config() -> ApiConfig:
    """The API to call, from `VOLPRED_*` settings read now (cheap; env may change in tests)."""
    return ApiConfig.from_settings(Settings())


@st.cache_resource(show_spinner=False)
def client(cfg: ApiConfig) -> ApiClient:
    return ApiClient(cfg, quiet_after_failure=QUIET_AFTER_FAILURE)


@st.cache_data(ttl=READY_TTL, show_spinner=False)
def ready(cfg: ApiConfig) -> dict[str, Any]:
    return client(cfg).ready()


@st.cache_data(ttl=TTL, show_spinner=False)
def model_card(cfg: ApiConfig) -> dict[str, Any]:
    return client(cfg).model()


@st.cache_data(ttl=TTL, show_spinner=False)
def _predict(
    cfg: ApiConfig,
    date: str,
    features: tuple[tuple[str, float], ...],
    version: str | None,
    _reason: str,  # not part of the cache key (leading underscore): only for the log line
) -> dict[str, Any]:
    events.event(
        "prediction_asked",
        reason=_reason,
        date=date,
        features=",".join(f"{k}={v:g}" for k, v in features) or "-",
    )
    return client(cfg).predict(date, dict(features) or None)


def predict(
    cfg: ApiConfig,
    date: str = "latest",
    features: dict[str, float] | None = None,
    *,
    version: str | None = None,
    reason: str = "page",
) -> dict[str, Any]:
    """A forecast for `date` with `features` overridden. `version` (the served model's, from
    /ready) is part of the cache key, so a newly served model is never answered from cache.
    Each question that reaches the API is logged as a `prediction_asked` event."""
    return _predict(cfg, date, tuple(sorted((features or {}).items())), version, reason)


@st.cache_data(ttl=TTL, show_spinner=False)
def history(cfg: ApiConfig) -> pl.DataFrame:
    """The whole cleaned table: fetched once, then cut locally by the date-range selector."""
    return client(cfg).history()


@st.cache_data(ttl=TTL, show_spinner=False)
def oos(cfg: ApiConfig) -> pl.DataFrame:
    """The served model's walk-forward out-of-sample predictions, all of them."""
    return client(cfg).oos()


@st.cache_data(ttl=TTL, show_spinner=False)
def data_quality(cfg: ApiConfig) -> dict[str, Any]:
    return client(cfg).data_quality()


@st.cache_data(ttl=READY_TTL, show_spinner=False)
def report_status(cfg: ApiConfig) -> dict[str, Any] | None:
    """The current report's review status (asked often: an analyst may have just signed off)."""
    return client(cfg).report_status()


@st.cache_data(ttl=TTL, show_spinner=False)
def report_pdf(cfg: ApiConfig, run_id: str | None, status: str | None) -> bytes:
    """The current PDF; keyed by the report's run and status, so a sign-off is never answered
    with the draft from cache."""
    return client(cfg).report_pdf()


@st.cache_data(ttl=READY_TTL, show_spinner=False)
def alerts(cfg: ApiConfig) -> dict[str, Any]:
    return client(cfg).alerts()


def clear() -> None:
    """Forget every cached answer (the sidebar's Refresh button)."""
    for fn in (ready, model_card, _predict, history, oos, data_quality):
        fn.clear()
    for fn in (report_status, report_pdf, alerts):  # the analysts' loop
        fn.clear()
