"""The volpred pipeline as one Prefect flow; it reads like the plan's DAG.

Tasks are thin: each calls one `volpred` function and returns a small JSON summary (paths,
content hashes, counts). Results persist as JSON (nothing is ever unpickled) under cache keys
from `volpred.cachekeys`, so a re-run with unchanged inputs is served from the checkpoints and a
crashed run resumes after its last finished task.
"""

from __future__ import annotations

import os

# Route the package's own log lines into Prefect's run logs (must precede the prefect import).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "volpred")

import logging  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import Task, flow, task  # noqa: E402
from prefect.logging import get_run_logger  # noqa: E402

from volpred import cachekeys  # noqa: E402
from volpred.clean import clean  # noqa: E402
from volpred.config import Settings, SourceName  # noqa: E402
from volpred.ingest import ingest  # noqa: E402
from volpred.io import run_lock, sha256_file  # noqa: E402
from volpred.sources import INCREMENTAL, SourceError  # noqa: E402

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
    retries=2,
    retry_delay_seconds=[10, 60],
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


def checkpointed(step: Task, settings: Settings, refresh: bool, *args: Any) -> dict[str, Any]:
    """Run `step` through its cache; recompute when a cached result's files were changed."""
    storage = settings.results_block or settings.results_dir.resolve()
    step = step.with_options(result_storage=storage, refresh_cache=refresh or None)
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
) -> dict[str, Any]:
    settings = Settings().with_overrides(
        source=source,
        csv_path=csv_path,
        start=start,
        end=end,
        data_dir=data_dir,
        artifacts_dir=artifacts_dir,
        results_dir=results_dir,
    )
    logging.getLogger("volpred").setLevel(settings.log_level)
    with run_lock(settings.data_dir, "pipeline", settings.lock_timeout):
        raw = checkpointed(ingest_data, settings, refresh)
        cleaned = checkpointed(clean_data, settings, refresh, raw)
    return {"raw": raw, "cleaned": cleaned}


if __name__ == "__main__":
    volpred_pipeline()
