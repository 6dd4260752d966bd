"""The volpred pipeline as one Prefect flow; it reads like the plan's DAG.

Tasks are thin: each calls one `volpred` function and returns a small JSON-able summary
(paths, hashes, counts), so results persist as JSON and nothing is ever unpickled.
"""

from __future__ import annotations

import os

# Route the package's own log lines into Prefect's run logs (must precede the prefect import).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "volpred")

import logging  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402

from volpred.clean import clean  # noqa: E402
from volpred.config import Settings, SourceName  # noqa: E402
from volpred.ingest import ingest  # noqa: E402
from volpred.sources import INCREMENTAL, SourceError  # noqa: E402

RESULT = {"persist_result": True, "result_serializer": "json"}


def _is_network_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a download that failed (outage, rate limit), never a file that does not parse."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, SourceError) and exc.source in INCREMENTAL


@task(
    name="ingest_data",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_is_network_failure,
    timeout_seconds=900,
    **RESULT,
)
def ingest_data(settings: Settings) -> dict[str, Any]:
    return ingest(settings).as_dict()


@task(name="clean_data", timeout_seconds=600, **RESULT)
def clean_data(settings: Settings, raw: dict[str, Any]) -> dict[str, Any]:
    result = clean(settings)
    return {
        "path": str(result.path),
        "rows_in": result.rows_in,
        "rows_out": result.rows_out,
        "raw_sha256": raw["sha256"],
        "synthetic": result.synthetic,
    }


@flow(name="volpred-pipeline", log_prints=True)
def volpred_pipeline(
    source: SourceName | None = None,
    csv_path: Path | None = None,
    start: date | None = None,
    end: date | None = None,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    settings = Settings().with_overrides(
        source=source, csv_path=csv_path, start=start, end=end, data_dir=data_dir
    )
    logging.getLogger("volpred").setLevel(settings.log_level)
    raw = ingest_data(settings)
    cleaned = clean_data(settings, raw)
    return {"raw": raw, "cleaned": cleaned}


if __name__ == "__main__":
    volpred_pipeline()
