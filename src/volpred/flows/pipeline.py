"""The volpred pipeline as one Prefect flow; it reads like the plan's DAG.

Tasks are thin: each calls one `volpred` function and returns a small JSON summary (paths,
content hashes, counts). Results persist as JSON (nothing is ever unpickled) under cache keys
from `volpred.runtime.cachekeys`, so a
re-run with unchanged inputs is served from the checkpoints and a
crashed run resumes after its last finished task.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import date
from pathlib import Path
from typing import Any

from prefect import Task, flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, NotPausedError
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.logging import get_run_logger

from volpred.config import ServiceName, Settings, SourceName
from volpred.data.clean import clean
from volpred.data.ingest import ingest
from volpred.data.sources import INCREMENTAL, SourceError
from volpred.model import candidate, store
from volpred.runtime import cachekeys
from volpred.runtime.storage import run_lock, sha256_file

CHECKPOINT = {"persist_result": True, "result_serializer": "json"}


def _output(path: Path) -> dict[str, str]:
    return {"path": str(path), "sha256": sha256_file(path)}


def _is_network_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a download that failed (outage, rate limit), never a file that does not parse."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, SourceError) and exc.source in INCREMENTAL


@task(
    name="ingest_data",
    cache_key_fn=lambda ctx, params: cachekeys.ingest_key(params["settings"]),
    retry_condition_fn=_is_network_failure,
    timeout_seconds=900,
    **CHECKPOINT,
)
def ingest_data(settings: Settings) -> dict[str, Any]:
    result = ingest(settings)
    return result.as_dict() | {"outputs": [_output(result.path), _output(result.meta_path)]}


@task(
    name="clean_data",
    cache_key_fn=lambda ctx, p: cachekeys.stage_key("clean", p["settings"], p["settings"].raw_path),
    timeout_seconds=600,
    **CHECKPOINT,
)
def clean_data(settings: Settings, raw: dict[str, Any]) -> dict[str, Any]:
    result = clean(settings)
    outputs = [result.path, result.parquet_path, result.report_path]
    return {
        "rows_in": result.rows_in,
        "rows_out": result.rows_out,
        "findings": len(result.findings),
        "synthetic": result.synthetic,
        "parquet": str(result.parquet_path),
        "outputs": [_output(p) for p in outputs],
    }


@task(
    name="train_model",
    cache_key_fn=lambda ctx, p: cachekeys.stage_key(
        "train", p["settings"], p["settings"].cleaned_parquet_path
    ),
    timeout_seconds=1800,
    **CHECKPOINT,
)
def train_model(settings: Settings, cleaned: dict[str, Any]) -> dict[str, Any]:
    result = candidate.train_candidate(settings)
    folder = Path(result["dir"])
    files = [candidate.MODEL, candidate.CARD, candidate.PREDICTIONS]
    return result | {"outputs": [_output(folder / f) for f in files]}


@task(name="save_model", cache_policy=NO_CACHE, timeout_seconds=300, **CHECKPOINT)
def save_model(settings: Settings, trained: dict[str, Any], approved: bool) -> dict[str, Any]:
    """Serve the candidate as a new version, unless it already is served or was declined."""
    served = candidate.served_card(settings)
    if (
        served is not None
        and served.get("fingerprint") == trained["fingerprint"]
        # versions saved before predictions were kept with them are saved again, complete
        and store.PREDICTIONS_FILE in served.get("extra_files", {})
    ):
        store.repair(settings.artifacts_dir)
        get_run_logger().info(
            "save_model: the candidate is already served as %s", served["version"]
        )
        return {"version": served["version"], "promoted": False, "reason": "already served"}
    if not approved:
        version = served["version"] if served else None
        get_run_logger().warning("save_model: candidate not promoted; still serving %s", version)
        return {"version": version, "promoted": False, "reason": "declined"}
    saved = candidate.promote(settings)
    return {
        "version": saved.version,
        "promoted": True,
        "path": str(saved.path),
        "size_bytes": saved.size_bytes,
        "reason": "promoted",
    }


@task(name="run_flask_api", cache_policy=NO_CACHE, timeout_seconds=300, **CHECKPOINT)
def run_flask_api(settings: Settings, saved: dict[str, Any]) -> dict[str, Any]:
    """Start the API, or let the running one pick up the new model (no restart), and wait
    until it serves `saved`'s version."""
    from volpred.serving.api.launcher import start_api

    status = start_api(settings, expected_version=saved.get("version"))
    get_run_logger().info(
        "run_flask_api: %s serving model %s (pid %d); %s",
        status.url,
        status.model_version,
        status.pid,
        status.marker,
    )
    return status.as_dict() | {"outputs": [_output(Path(status.marker))]}


@task(name="run_streamlit_dashboard", cache_policy=NO_CACHE, timeout_seconds=300, **CHECKPOINT)
def run_streamlit_dashboard(settings: Settings, api: dict[str, Any] | None) -> dict[str, Any]:
    from volpred.serving.dashboard.launcher import MARKER, start_dashboard

    service = start_dashboard(settings)
    marker = settings.run_dir / MARKER
    get_run_logger().info(
        "run_streamlit_dashboard: %s (pid %d), API %s; %s",
        settings.dashboard_url,
        service.pid,
        settings.api_url_for_dashboard,
        marker,
    )
    return {
        "url": settings.dashboard_url,
        "pid": service.pid,
        "api_url": settings.api_url_for_dashboard,
        "outputs": [_output(marker)],
    }


def _report_key(settings: Settings) -> str:
    from volpred.report.render import TEMPLATES_DIR

    try:
        card = store.version_dir(settings.artifacts_dir) / store.CARD_FILE
    except store.ModelLoadError:
        card = Path("missing")
    return cachekeys.report_key(settings, card, TEMPLATES_DIR)


@task(
    name="generate_report",
    cache_key_fn=lambda ctx, p: _report_key(p["settings"]),
    timeout_seconds=600,
    **CHECKPOINT,
)
def generate_report(
    settings: Settings, cleaned: dict[str, Any], saved: dict[str, Any]
) -> dict[str, Any]:
    from volpred.report import generate_report as write_report

    flow_run = FlowRunContext.get()
    run_id = str(flow_run.flow_run.id) if flow_run else None
    result = write_report(settings, run_id=run_id)
    return {
        "pdf": str(result.pdf_path),
        "html": str(result.html_path),
        "pages": result.pages,
        "model_version": result.model_version,
        "figures": {k: str(v) for k, v in result.figure_paths.items()},
        "tables": result.table_names,
        "seconds": {
            "figures": result.timings.figures_s,
            "pdf": result.timings.pdf_s,
            "total": result.timings.total_s,
        },
        "outputs": [_output(result.pdf_path), _output(result.html_path)],
    }


class PromotionDecision(RunInput):
    """The analyst's answer in the Prefect UI."""

    promote: bool = False
    comment: str = ""


def review_candidate(settings: Settings, require_approval: bool) -> bool:
    """Promote automatically when not worse than the served model; otherwise ask an analyst.

    The pause shows both models' metrics side by side and times out to keeping the current one.
    """
    logger = get_run_logger()
    served = candidate.served_card(settings)
    if served is None:
        return True
    comparison = candidate.compare(served, candidate.candidate_card(settings))
    if comparison.not_worse and not require_approval:
        return True
    why = "approval required" if comparison.not_worse else "the candidate is worse on a metric"
    description = (
        f"**Promote the new model?** ({why}; served version {served['version']})\n\n"
        + comparison.as_markdown()
        + f"\n\nNo answer within {settings.approval_timeout:.0f} s keeps the current model."
    )
    # An expired Prefect pause fails the run, so the timeout is an automatic answer instead:
    # "keep the current model", given just before Prefect's own (backstop) timeout.
    flow_run_id = FlowRunContext.get().flow_run.id
    default = threading.Timer(settings.approval_timeout, _keep_current, args=(flow_run_id,))
    default.daemon = True
    default.start()
    try:
        decision = pause_flow_run(
            wait_for_input=PromotionDecision.with_initial_data(description=description),
            timeout=int(settings.approval_timeout) + 300,
        )
    finally:
        default.cancel()
    logger.info("promotion decision: promote=%s (%s)", decision.promote, decision.comment)
    if not decision.promote:
        logger.warning("keeping model %s", served["version"])
    return decision.promote


def _keep_current(flow_run_id: Any) -> None:
    with contextlib.suppress(NotPausedError, FlowPauseTimeout, RuntimeError):
        resume_flow_run(
            flow_run_id,
            run_input={"promote": False, "comment": "no answer in time: kept the current model"},
        )


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
    (data range, rows, the served model's latest forecast) and where to look next (API,
    dashboard, report)."""
    headline = trained.get("headline", {}).get("overall", {})
    rows = [
        {"target": target, "model": name, **{k: v for k, v in m.items() if v is not None}}
        for target in ("vol", "ret")
        for name, m in headline.get(target, {}).items()
    ]
    if rows:
        create_table_artifact(
            key="walk-forward-metrics",
            table=rows,
            description=f"Out-of-sample metrics, {headline.get('first')} .. {headline.get('last')}",
        )
    synthetic = " (**synthetic sample data**)" if raw.get("synthetic") else ""
    card = candidate.served_card(settings) or {}
    f = card.get("latest_forecast")
    forecast = (
        f"- latest forecast (as of {f['date']}, next {card['horizon']} trading days): "
        f"volatility {100 * f['vol']:.1f}% (80% band {100 * f['vol_lo']:.1f}-"
        f"{100 * f['vol_hi']:.1f}%), log return {100 * f['ret']:+.2f}% "
        f"({100 * f['ret_lo']:+.2f} to {100 * f['ret_hi']:+.2f}%)\n"
        if f
        else ""
    )
    create_markdown_artifact(
        key="run-summary",
        markdown=(
            f"# volpred run\n\n"
            f"- data: `{raw['source']}`{synthetic}, {raw['first_date']} .. {raw['last_date']}, "
            f"{raw['rows']} rows ({cleaned['rows_out']} after cleaning)\n"
            f"- model: version `{saved.get('version')}` ({saved.get('reason')})\n"
            + forecast
            + "".join(_links(api, dashboard, analysis))
        ),
    )


def _links(
    api: dict[str, Any] | None, dashboard: dict[str, Any] | None, analysis: dict[str, Any] | None
) -> list[str]:
    links = []
    if api:
        links.append(f"- API: [{api['url']}]({api['url']}/docs) serving `{api['model_version']}`\n")
    if dashboard:
        links.append(f"- dashboard: [{dashboard['url']}]({dashboard['url']})\n")
    if analysis:
        links.append(f"- report: `{analysis['pdf']}` ({analysis['pages']} pages)\n")
    return links


def stored(step: Task, settings: Settings) -> Task:
    """`step` persisting its result to the configured storage (a folder, or a storage block)."""
    return step.with_options(
        result_storage=settings.results_block or settings.results_dir.resolve()
    )


def checkpointed(step: Task, settings: Settings, refresh: bool, *args: Any) -> dict[str, Any]:
    """Run `step` through its cache; recompute when a cached result's files were changed."""
    step = stored(step, settings).with_options(refresh_cache=refresh or None)
    result = step(settings, *args)
    if not cachekeys.outputs_intact(result):
        get_run_logger().warning(
            "%s: the checkpoint files of the cached result changed or vanished; recomputing",
            step.name,
        )
        result = step.with_options(refresh_cache=True)(settings, *args)
    return result


@flow(name="volpred-pipeline")
def volpred_pipeline(
    source: SourceName | None = None,
    csv_path: Path | None = None,
    start: date | None = None,
    end: date | None = None,
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
        approved = review_candidate(settings, require_approval)
        saved = stored(save_model, settings)(settings, trained, approved)
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
    }


if __name__ == "__main__":
    volpred_pipeline()
