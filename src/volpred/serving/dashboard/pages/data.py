"""Data page: where the data came from, its date range and freshness, nulls and what the
cleaning dropped or changed (from the API's /data-quality and /ready)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import streamlit as st

from volpred.serving.dashboard import data, ui


def freshness(last: str | None, fetched_at: str | None) -> str:
    """How old the data is, in words an analyst checks at a glance."""
    parts = []
    if last:
        days = (date.today() - date.fromisoformat(last[:10])).days
        parts.append(f"last trading day {last} ({days} days ago)")
    if fetched_at:
        when = datetime.fromisoformat(fetched_at)
        hours = (datetime.now(UTC) - when).total_seconds() / 3600
        parts.append(f"fetched {fetched_at[:19].replace('T', ' ')} UTC ({hours:.1f} h ago)")
    return "; ".join(parts) or "unknown"


def null_table(report: dict[str, Any]) -> pl.DataFrame:
    """Nulls per column before and after gap filling, and in the derived features."""
    before = report.get("nulls_before") or {}
    after = report.get("nulls_after_fill") or {}
    features = report.get("feature_nulls") or {}
    names = list(dict.fromkeys([*before, *after, *features]))
    return pl.DataFrame(
        {
            "column": names,
            "raw nulls": [before.get(n) for n in names],
            "after filling": [after.get(n) for n in names],
            "feature nulls": [features.get(n) for n in names],
        },
        schema_overrides={c: pl.Int64 for c in ("raw nulls", "after filling", "feature nulls")},
    )


def coverage_table(report: dict[str, Any]) -> pl.DataFrame:
    """Each input's first and last observed day, rows, and age in trading days on the last
    day: a stale input (a VIX file that stopped, a macro series no longer published) shows
    here before it shows in a forecast."""
    rows = [
        {
            "input": name,
            "first": c.get("first_date"),
            "last": c.get("last_date"),
            "rows": c.get("rows"),
            "age (trading days)": c.get("age_days"),
        }
        for name, c in (report.get("inputs") or {}).items()
    ]
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def findings_table(report: dict[str, Any]) -> pl.DataFrame:
    rows = [
        {
            "problem": f.get("kind"),
            "policy": f.get("policy"),
            "column": f.get("column"),
            "count": f.get("count"),
            "dates (first few)": ", ".join(f.get("dates") or []),
        }
        for f in report.get("findings") or []
    ]
    return pl.DataFrame(rows) if rows else pl.DataFrame()


ui.page_view("data")
cfg = data.config()
st.title("Data")

quality = ui.attempt("The data-quality report", data.data_quality, cfg)
if quality is not None:
    report = quality.get("cleaning_report") or {}
    meta = quality.get("raw_meta") or {}
    if meta.get("synthetic") or report.get("synthetic"):
        st.info("Source: the synthetic sample market (seeded simulation), not real prices.")
    cols = st.columns(4)
    cols[0].metric("Source", str(meta.get("source") or report.get("source") or "?"))
    cols[1].metric("Rows after cleaning", f"{report.get('rows_out', '?')}")
    cols[2].metric("Rows dropped by cleaning", f"{report.get('rows_dropped', '?')}")
    cols[3].metric("Revisions on last fetch", f"{meta.get('revisions', 0)}")
    first = report.get("first_date") or meta.get("first_date")
    last = report.get("last_date") or meta.get("last_date")
    st.markdown(
        f"**Date range:** {first} to {last}  \n"
        f"**Freshness:** {freshness(last, meta.get('fetched_at'))}  \n"
        f"**Where from:** {', '.join(meta.get('uris') or []) or '?'}"
        + (
            f"  \n**Incremental since:** {meta['incremental_since']}"
            if meta.get("incremental_since")
            else ""
        )
        + f"  \n**Rows in / fetched:** {report.get('rows_in', '?')} / "
        f"{meta.get('rows_fetched', '?')}"
    )
    for note in meta.get("notes") or []:
        st.caption(note)
    st.subheader("Inputs: coverage and freshness")
    coverage = coverage_table(report)
    if coverage.is_empty():
        st.caption("This cleaning report predates per-input coverage.")
    else:
        st.dataframe(coverage, hide_index=True)
    for extra in ("realized", "macro"):
        for note in (report.get(extra) or {}).get("notes") or []:
            st.caption(f"{extra}: {note}")
    st.subheader("Cleaning findings")
    findings = findings_table(report)
    if findings.is_empty():
        st.success("Cleaning found nothing to fix, drop or blank.")
    else:
        st.dataframe(findings, hide_index=True)
    st.subheader("Null counts")
    st.dataframe(null_table(report), hide_index=True)
    with st.expander("Raw metadata and cleaning report (JSON)"):
        st.json(quality, expanded=False)

ready = st.session_state.get("volpred_ready")
if ready and ready.get("ready"):
    st.caption(
        f"The served model {ready.get('model_version')} reads data {ready.get('data_first')} "
        f"to {ready.get('data_as_of')} (loaded {ready.get('loaded_at')})."
    )
