"""The flow's tasks and how they are run from their checkpoints.

Tasks are thin: each calls one `volpred` function and returns a small JSON summary (paths,
content hashes, counts). Results persist as JSON (nothing is ever unpickled) under cache keys
from `volpred.runtime.cachekeys`, so a re-run with unchanged inputs is served from the
checkpoints and a crashed run resumes after its last finished task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.logging import get_run_logger

from volpred.config import Settings
from volpred.data.auxiliary import ingest_all
from volpred.data.clean import clean
from volpred.data.sources import INCREMENTAL, SourceError
from volpred.model import candidate, promotion, store
from volpred.model.promotion import PromotionDecision
from volpred.runtime import cachekeys
from volpred.runtime.storage import sha256_file

CHECKPOINT = {"persist_result": True, "result_serializer": "json"}


def _output(path: Path) -> dict[str, str]:
    return {"path": str(path), "sha256": sha256_file(path)}


def is_network_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a download that failed (outage, rate limit), never a file that does not parse."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, SourceError) and exc.source in INCREMENTAL


@task(
    name="ingest_data",
    cache_key_fn=lambda ctx, params: cachekeys.ingest_key(params["settings"]),
    retry_condition_fn=is_network_failure,
    timeout_seconds=900,
    **CHECKPOINT,
)
def ingest_data(settings: Settings) -> dict[str, Any]:
    """The market table, then the realized measures (bars fanned out over the flow's task
    runner, `volpred.flows.realized`) and the macro observations: three checkpoints."""
    from volpred.flows.realized import compute_realized_from

    result, extras = ingest_all(settings, bars=compute_realized_from)
    files = [result.path, result.meta_path, *(p for x in extras for p in (x.path, x.meta_path))]
    return result.as_dict() | {
        "inputs": {x.name: x.as_dict() for x in extras},
        "outputs": [_output(p) for p in files],
    }


@task(
    name="clean_data",
    cache_key_fn=lambda ctx, p: cachekeys.stage_key(
        "clean",
        p["settings"],
        p["settings"].raw_path,
        p["settings"].raw_meta_path,
        p["settings"].realized_checkpoint,
        p["settings"].realized_meta_path,
        p["settings"].macro_checkpoint,
        p["settings"].macro_meta_path,
    ),
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
def save_model(
    settings: Settings, trained: dict[str, Any], decision: PromotionDecision
) -> dict[str, Any]:
    """Carry out the promotion decision (`trained` orders this task after train_model)."""
    result = promotion.carry_out(settings, decision)
    if result.reason == "already served":
        get_run_logger().info("save_model: the candidate is already served as %s", result.version)
    elif not result.promoted:
        get_run_logger().warning(
            "save_model: candidate not promoted; still serving %s", result.version
        )
    return result.as_dict()


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
