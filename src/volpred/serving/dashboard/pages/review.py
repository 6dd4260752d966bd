"""Report and alerts page: whether the latest report is a draft or reviewed (and by whom),
its PDF, the recent KPI, freshness and failed-run alerts, and the thresholds in force (from
the API's /report, /report/pdf and /alerts)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from volpred.serving.dashboard import data, ui


def status_line(status: dict[str, Any]) -> str:
    """The report's state in one sentence an analyst reads at a glance."""
    review = status.get("review") or {}
    who = f"{review.get('by')} on {str(review.get('at', ''))[:16].replace('T', ' ')} UTC"
    state = status.get("status")
    if state == "reviewed":
        head = f"Reviewed by {who}"
    elif state == "sent back":
        head = f"Draft, sent back by {who}"
    else:
        head = "DRAFT — not reviewed"
    return (
        f"{head}: run {status.get('run_id')}, model {status.get('model_version')}, "
        f"written {str(status.get('generated_at', ''))[:16].replace('T', ' ')} UTC"
    )


def thresholds_table(thresholds: dict[str, Any]) -> pl.DataFrame:
    """The values the checks use, with the setting that changes each."""
    rows = [
        ("forecast vol above", f"{100 * thresholds['vol_above']:.1f}%", "VOLPRED_ALERT_VOL_ABOVE"),
        (
            "forecast vol change since the last run",
            f"{100 * thresholds['vol_jump']:.1f} points",
            "VOLPRED_ALERT_VOL_JUMP",
        ),
        (
            "data older than",
            f"{thresholds['max_data_age']} trading days",
            "VOLPRED_ALERT_MAX_DATA_AGE",
        ),
        (
            "an input older than",
            ", ".join(f"{k} {v}" for k, v in thresholds["input_max_age"].items()) + " trading days",
            "VOLPRED_ALERT_INPUT_MAX_AGE",
        ),
    ]
    return pl.DataFrame(rows, schema=["check", "threshold", "setting"], orient="row")


def alerts_table(alerts: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [
        {"at": str(a.get("at", ""))[:19].replace("T", " "), "kind": a.get("kind"),
         "message": a.get("message"), "run": a.get("run_id")}
        for a in alerts
    ]  # fmt: skip
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def facts_line(facts: dict[str, Any]) -> str:
    vix = facts.get("vix")
    stale = ", ".join(facts.get("stale_inputs") or []) or "none"
    return (
        f"**Last run** {str(facts.get('at', ''))[:16].replace('T', ' ')} UTC: forecast vol "
        f"{100 * facts['vol']:.1f}% (band {100 * facts['vol_lo']:.1f}-{100 * facts['vol_hi']:.1f}%)"
        + ("" if vix is None else f", VIX {vix:.1f}, gap {facts.get('vol_minus_vix'):+.1f} points")
        + f"; data to {facts.get('data_last_date')} ({facts.get('data_age_days')} trading days "
        f"old); stale inputs: {stale}; model {facts.get('model_version')}."
    )


ui.page_view("review")
cfg = data.config()
st.title("Report and alerts")

st.subheader("Latest report")
status = ui.attempt("The report's status", lambda c: data.report_status(c) or {}, cfg)
if status == {}:
    st.info("No report has been written yet: `volpred report` (or `make run`) writes one.")
elif status is not None:
    line = status_line(status)
    if status.get("status") == "reviewed":
        st.success(line, icon=":material/verified:")
    else:
        st.warning(line, icon=":material/edit_note:")
    if status.get("status") != "reviewed":
        st.caption(
            "Review it in the Prefect UI (deployment review-report/review) or with "
            "`volpred report review --by NAME --notes FILE`."
        )
    pdf = ui.attempt(
        "The report's PDF", data.report_pdf, cfg, status.get("run_id"), status.get("status")
    )
    if pdf is not None:
        name = (
            "analysis_report.reviewed.pdf"
            if "reviewed" in status.get("files", {})
            else ("analysis_report.pdf")
        )
        st.download_button("Download the PDF", pdf, file_name=name, mime="application/pdf")
    st.markdown(f"[Open the PDF]({cfg.base_url}{status.get('pdf_url', '/report/pdf')})")

st.subheader("Alerts")
answer = ui.attempt("The alerts", data.alerts, cfg)
if answer is not None:
    if answer.get("last_run"):
        st.markdown(facts_line(answer["last_run"]))
    recent = alerts_table(answer.get("alerts") or [])
    if recent.is_empty():
        st.success("No alert raised.")
    else:
        st.dataframe(recent, hide_index=True)
    st.caption("Thresholds in force (each run checks its facts against these settings):")
    st.dataframe(thresholds_table(answer["thresholds"]), hide_index=True)
