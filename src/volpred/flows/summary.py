"""What a flow run shows in the Prefect UI, as strings and table rows.

Kept apart from the flow so that the wording and the number formats are tested without a
Prefect server; the flow only hands these to `create_markdown_artifact` and friends.
"""

from __future__ import annotations

from typing import Any

from volpred.model.card import Headline, ModelCard
from volpred.model.promotion import PromotionDecision
from volpred.report.staleness import stale_warning

#: The band level a card that does not record its own was trained with.
DEFAULT_LEVEL = 0.8


def pct(x: float, digits: int = 1) -> str:
    """A decimal as a percentage without the sign: 0.1398 -> "14.0"."""
    return f"{100 * x:.{digits}f}"


def signed_pct(x: float, digits: int = 2) -> str:
    """A log return as a signed percentage: 0.0057 -> "+0.57"."""
    return f"{100 * x:+.{digits}f}"


def metrics_rows(headline: Headline) -> list[dict[str, Any]]:
    """One row per target and model of the overall out-of-sample headline (missing scores
    left out, so the UI table shows blanks rather than "None")."""
    overall = headline.overall
    return [
        {"target": target, "model": name, **{k: v for k, v in m.items() if v is not None}}
        for target, models in (("vol", overall.vol), ("ret", overall.ret))
        for name, m in models.items()
    ]


def metrics_description(headline: Headline) -> str:
    return f"Out-of-sample metrics, {headline.overall.first} .. {headline.overall.last}"


def forecast_line(card: ModelCard | None) -> str:
    """The served model's latest forecast as one markdown bullet; "" when it has none."""
    f = card.latest_forecast if card else None
    if card is None or f is None:
        return ""
    final = card.metrics.final_model
    level = (final.interval_level if final else None) or DEFAULT_LEVEL
    return (
        f"- latest forecast (as of {f.date}, next {card.horizon} trading days): "
        f"volatility {pct(f.vol)}% ({pct(level, 0)}% band {pct(f.vol_lo)}-{pct(f.vol_hi)}%), "
        f"log return {signed_pct(f.ret)}% ({signed_pct(f.ret_lo)} to {signed_pct(f.ret_hi)}%)\n"
        + (f"- {warning}\n" if (warning := stale_warning(f.model_dump())) else "")
    )


def inputs_line(raw: dict[str, Any]) -> str:
    """The realized and macro checkpoints ingest_data wrote: what kind, what span."""
    parts = []
    for name, x in (raw.get("inputs") or {}).items():
        if x.get("kind") == "none":
            parts.append(f"{name}: none")
            continue
        mark = ", synthetic" if x.get("synthetic") else ""
        parts.append(f"{name}: {x['kind']}{mark}, {x['first_date']} .. {x['last_date']}")
    return f"- inputs: {'; '.join(parts)}\n" if parts else ""


def links(
    api: dict[str, Any] | None, dashboard: dict[str, Any] | None, analysis: dict[str, Any] | None
) -> list[str]:
    """Where to look next: one bullet per service started and for the report written."""
    out = []
    if api:
        out.append(f"- API: [{api['url']}]({api['url']}/docs) serving `{api['model_version']}`\n")
    if dashboard:
        out.append(f"- dashboard: [{dashboard['url']}]({dashboard['url']})\n")
    if analysis:
        out.append(f"- report: `{analysis['pdf']}` ({analysis['pages']} pages)\n")
    return out


def run_summary(
    raw: dict[str, Any],
    cleaned: dict[str, Any],
    saved: dict[str, Any],
    served: ModelCard | None,
    api: dict[str, Any] | None = None,
    dashboard: dict[str, Any] | None = None,
    analysis: dict[str, Any] | None = None,
) -> str:
    """The run in a few lines: data range and rows, the model served and why, its latest
    forecast and the links. `raw`, `cleaned`, `saved`... are the tasks' results."""
    synthetic = " (**synthetic sample data**)" if raw.get("synthetic") else ""
    return (
        f"# volpred run\n\n"
        f"- data: `{raw['source']}`{synthetic}, {raw['first_date']} .. {raw['last_date']}, "
        f"{raw['rows']} rows ({cleaned['rows_out']} after cleaning)\n"
        + inputs_line(raw)
        + f"- model: version `{saved.get('version')}` ({saved.get('reason')})\n"
        + forecast_line(served)
        + report_line(analysis)
        + "".join(links(api, dashboard, analysis))
    )


def comparison_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| metric | served | candidate | better |", "|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['metric']} | {r['current']:.5g} | {r['candidate']:.5g} | {r['better']} |"
        )
    return "\n".join(lines)


def approval_request(decision: PromotionDecision, timeout_s: float) -> str:
    """The analyst's form: why they are asked, both models' metrics, and what silence means."""
    return (
        f"**Promote the new model?** ({decision.reason}; "
        f"served version {decision.served_version})\n\n"
        + comparison_table(decision.rows)
        + f"\n\nNo answer within {timeout_s:.0f} s keeps the current model."
    )


# ----------------------------------------------------------------------------- the analysts' loop


def report_line(analysis: dict[str, Any] | None) -> str:
    """The report's review status for the run summary: a new report is a draft."""
    if not analysis:
        return ""
    return (
        "- report status: **DRAFT — not reviewed**. Review it with the `review-report/review` "
        "deployment (Deployments -> review -> Run, then the form) or "
        "`volpred report review --by NAME --notes FILE`\n"
    )


def review_request(meta: dict[str, Any], timeout_s: float) -> str:
    """The review form's description: which report, where it is, and what silence means."""
    draft = meta.get("draft") or {}
    status = meta.get("status", "draft")
    return (
        f"**Review the analysis report of run `{meta.get('run_id')}`** (model version "
        f"`{meta.get('model_version')}`, source `{meta.get('source')}`"
        + (", synthetic sample data" if meta.get("synthetic") else "")
        + f"; now {status}).\n\n"
        f"Draft: `{draft.get('pdf')}` ({draft.get('pages')} pages), HTML `{draft.get('html')}`.\n\n"
        "Give your name, your commentary (markdown: it is printed in the report's "
        '"Analyst\'s commentary" section) and approve, or send it back.\n\n'
        f"No answer within {timeout_s:.0f} s leaves the draft as it is."
    )


def review_outcome(result: dict[str, Any]) -> str:
    """The review run's artifact: what happened to the report."""
    review = result.get("review") or {}
    if result.get("status") == "reviewed":
        head = f"# Report reviewed\n\nSigned off by **{review.get('by')}** at {review.get('at')}"
    elif result.get("status") == "sent back":
        head = f"# Report sent back\n\nSent back by **{review.get('by')}** at {review.get('at')}"
    else:
        return f"# Report left as a draft\n\n{result.get('message', '')}\n"
    return (
        f"{head}, model version `{result.get('model_version')}`, run `{result.get('run_id')}`.\n\n"
        + (f"- reviewed PDF: `{result['pdf']}`\n" if result.get("pdf") else "")
        + f"- metadata: `{result.get('metadata')}`\n\n"
        + "## Commentary\n\n"
        + str(review.get("notes", ""))
    )


def alerts_markdown(facts: dict[str, Any], alerts: list[dict[str, Any]]) -> str:
    """The run's KPI and freshness checks: the facts, the thresholds in force, what fired."""
    t = facts["thresholds"]
    vix = facts.get("vix")
    gap = facts.get("vol_minus_vix")
    change = facts.get("vol_change")
    lines = [
        "# volpred alerts\n",
        "| check | value | threshold | alert |",
        "|---|---|---|---|",
        f"| forecast vol | {pct(facts['vol'])}% | above {pct(t['vol_above'])}% | "
        f"{'**yes**' if facts['vol'] > t['vol_above'] else 'no'} |",
        "| change since the last run | "
        + ("first run" if change is None else f"{100 * change:+.1f} points")
        + f" | more than {100 * t['vol_jump']:.1f} points | "
        + ("**yes**" if change is not None and abs(change) > t["vol_jump"] else "no")
        + " |",
        f"| data age | {facts.get('data_age_days')} trading days ({facts.get('data_last_date')} "
        f"to {facts.get('as_of')}) | more than {t['max_data_age']} | "
        + ("**yes**" if (facts.get("data_age_days") or 0) > t["max_data_age"] else "no")
        + " |",
        f"| stale inputs | {', '.join(facts.get('stale_inputs') or []) or 'none'} | "
        f"{', '.join(f'{k} {v}' for k, v in t['input_max_age'].items())} trading days | "
        + ("**yes**" if facts.get("stale_inputs") else "no")
        + " |",
        "",
        f"Forecast as of {facts['forecast_date']}: vol {pct(facts['vol'])}% "
        f"(band {pct(facts['vol_lo'])}-{pct(facts['vol_hi'])}%)"
        + ("" if vix is None else f", VIX {vix:.2f}, forecast minus VIX {gap:+.2f} points")
        + f"; model `{facts['model_version']}`.",
        "",
    ]
    if alerts:
        lines += ["## Raised", ""] + [f"- **{a['kind']}**: {a['message']}" for a in alerts]
    else:
        lines.append("No alert raised.")
    return "\n".join(lines) + "\n"
