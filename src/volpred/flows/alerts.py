"""The run's KPI and freshness alerts, the Prefect way: each run emits its facts as a Prefect
event (`volpred.run.facts`) and one event per check that failed (`volpred.alert.<kind>`); the
automations in `deployments/automations.yaml` send the notifications. A failed or crashed
pipeline run is recorded by `record_failure`, its hooks.

The facts and checks are pure (`volpred.monitoring.facts`); this module reads their inputs,
emits, and leaves the offline record: the run's `alerts` markdown artifact and the JSON lines
of `volpred.monitoring.records`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.logging import get_run_logger

from volpred.config import Settings
from volpred.flows import summary
from volpred.model import candidate
from volpred.monitoring import facts as run_facts
from volpred.monitoring import records
from volpred.runtime.storage import read_json

log = logging.getLogger("volpred.flows")


def vix_on(settings: Settings, day: str) -> float | None:
    """The VIX close on `day` from the cleaned table (None when absent)."""
    try:
        rows = (
            pl.scan_parquet(settings.cleaned_parquet_path)
            .filter(pl.col("date").cast(pl.Utf8) == day)
            .select("vix")
            .collect()
        )
    except (OSError, pl.exceptions.PolarsError):
        return None
    value = rows["vix"][0] if rows.height else None
    return None if value is None else float(value)


def _run_id() -> str:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else "manual"


@task(name="check_alerts", cache_policy=NO_CACHE, timeout_seconds=120)
def check_alerts(settings: Settings, saved: dict[str, Any]) -> dict[str, Any]:
    """Gather the run's facts, check them, record both, emit them as Prefect events and show
    them as the `alerts` artifact (`saved` orders this task after save_model)."""
    card = candidate.served_card(settings)
    if card is None or card.latest_forecast is None:
        get_run_logger().warning("check_alerts: no served model with a forecast; nothing checked")
        return {"facts": None, "alerts": []}
    gathered = run_facts.gather_facts(
        card=card,
        cleaning=read_json(settings.cleaning_report_path) or {},
        vix=vix_on(settings, card.latest_forecast.date),
        previous=records.last_facts(settings),
        settings=settings,
        run_id=_run_id(),
        now=datetime.now(UTC),
    )
    raised = run_facts.check(gathered)
    facts = gathered.as_dict()
    alerts = [a.as_dict() for a in raised]
    records.append_facts(settings, facts)
    records.append_alerts(settings, alerts)
    emit_event(event=run_facts.FACTS_EVENT, resource=run_facts.RESOURCE, payload=facts)
    for alert in alerts:
        emit_event(
            event=alert["event"],
            resource=run_facts.RESOURCE,
            payload=alert | {"facts": facts},
        )
        get_run_logger().warning("alert %s: %s", alert["kind"], alert["message"])
    create_markdown_artifact(
        key="alerts",
        markdown=summary.alerts_markdown(facts, alerts),
        description=f"{len(alerts)} alert(s)",
    )
    return {"facts": facts, "alerts": alerts}


def record_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """A failed or crashed pipeline run, recorded as an alert (the Prefect automation that
    notifies on it reads the run's state event, not this record)."""
    try:
        params = flow_run.parameters or {}
        settings = Settings().with_overrides(data_dir=params.get("data_dir"))
        records.append_alerts(
            settings,
            [
                {
                    "kind": "run-failed",
                    "event": f"prefect.flow-run.{state.name}",
                    "message": f"Flow run {flow_run.name} ended {state.name}: {state.message}",
                    "run_id": str(flow_run.id),
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "details": {"state": state.name, "flow": flow.name},
                }
            ],
        )
    except Exception:  # a hook must never hide the failure it records
        log.exception("could not record the failed run %s", flow_run.id)
