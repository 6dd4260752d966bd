"""The volpred pipeline as one Prefect flow; it reads like the specification's DAG.

Only the wiring is here: the tasks and their checkpoints are in `tasks`, the analyst's pause in
`approval`, the run's facts and alerts as Prefect events in `alerts`, what the run shows in the
UI in `summary`, and the promotion rule in `volpred.model.promotion`.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from volpred.config import ServiceName, Settings, SourceName
from volpred.flows import alerts, approval, summary
from volpred.flows.tasks import (
    checkpointed,
    clean_data,
    generate_report,
    ingest_data,
    run_flask_api,
    run_streamlit_dashboard,
    save_model,
    stored,
    train_model,
)
from volpred.model import candidate
from volpred.model.card import Headline
from volpred.runtime.storage import run_lock


def publish(
    settings: Settings,
    raw: dict[str, Any],
    cleaned: dict[str, Any],
    trained: dict[str, Any],
    saved: dict[str, Any],
    api: dict[str, Any] | None = None,
    dashboard: dict[str, Any] | None = None,
    analysis: dict[str, Any] | None = None,
) -> None:
    """Table and markdown artifacts in the Prefect UI: metrics against benchmarks, the run
    (data range, rows, the served model's latest forecast) and where to look next."""
    headline = Headline.model_validate(trained.get("headline", {}))
    rows = summary.metrics_rows(headline)
    if rows:
        create_table_artifact(
            key="walk-forward-metrics",
            table=rows,
            description=summary.metrics_description(headline),
        )
    served = candidate.served_card(settings)
    create_markdown_artifact(
        key="run-summary",
        markdown=summary.run_summary(raw, cleaned, saved, served, api, dashboard, analysis),
    )


@flow(
    name="volpred-pipeline",
    on_failure=[alerts.record_failure],
    on_crashed=[alerts.record_failure],
)
def volpred_pipeline(
    source: SourceName | None = None,
    csv_path: Path | None = None,
    start: date | None = None,
    end: date | None = None,
    realized_path: Path | None = None,
    bars_path: Path | None = None,
    macro_dir: Path | None = None,
    refresh: bool = False,
    data_dir: Path | None = None,
    artifacts_dir: Path | None = None,
    results_dir: Path | None = None,
    require_approval: bool = False,
    services: list[ServiceName] | None = None,
    report: bool | None = None,
) -> dict[str, Any]:
    """ingest -> clean -> train -> (review) -> save -> API -> dashboard -> report.

    `services` (default: VOLPRED_SERVICES, both) are started or reloaded after the model is
    saved; `report` (default: VOLPRED_REPORT, on) writes the PDF analysis report.
    """
    settings = Settings().with_overrides(
        source=source,
        csv_path=csv_path,
        start=start,
        end=end,
        realized_path=realized_path,
        bars_path=bars_path,
        macro_dir=macro_dir,
        data_dir=data_dir,
        artifacts_dir=artifacts_dir,
        results_dir=results_dir,
        services=services,
        report=report,
    )
    logging.getLogger("volpred").setLevel(settings.log_level)
    with run_lock(settings.data_dir, "pipeline", settings.lock_timeout):
        fetch = ingest_data.with_options(
            retries=settings.ingest_retries, retry_delay_seconds=settings.ingest_retry_delays
        )
        raw = checkpointed(fetch, settings, refresh)
        cleaned = checkpointed(clean_data, settings, refresh, raw)
        trained = checkpointed(train_model, settings, refresh, cleaned)
        decision = approval.review(settings, require_approval)
        saved = stored(save_model, settings)(settings, trained, decision)
    checked = alerts.check_alerts(settings, saved)  # facts and alerts as Prefect events
    api = dashboard = analysis = None
    if "api" in settings.services:
        api = stored(run_flask_api, settings)(settings, saved)
    if "dashboard" in settings.services:
        dashboard = stored(run_streamlit_dashboard, settings)(settings, api)
    if settings.report:
        with run_lock(settings.report_dir, "report", settings.lock_timeout):
            analysis = checkpointed(generate_report, settings, False, cleaned, saved)
    publish(settings, raw, cleaned, trained, saved, api, dashboard, analysis)
    return {
        "raw": raw,
        "cleaned": cleaned,
        "trained": trained,
        "saved": saved,
        "api": api,
        "dashboard": dashboard,
        "report": analysis,
        "alerts": checked,
    }


if __name__ == "__main__":
    volpred_pipeline()
