"""Realized measures from intraday bars, one Prefect task per partition.

The bar computation is the one job whose cost grows with the data (a year of 1-minute bars is
~100k rows, a long archive hundreds of millions), so it is split by `plan_partitions` into
partitions that never share a trading day, each computed by the pure
`measures_for_partition`, then combined (overnight returns across partition boundaries
included) by `combine_partitions`. The partitions run on a Prefect task runner: threads of
this process by default, or the workers of a Dask cluster when `VOLPRED_DASK_ADDRESS` names
its scheduler (the workers need volpred installed and the bar files at the same path).

`compute_realized(settings)` runs the `realized_measures` flow (as a subflow when called from
a flow) with `task_runner_for(settings)`; `map_partitions` maps the task on the task runner
of the flow it is called in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from volpred.config import Settings
from volpred.data.realized import (
    Partition,
    RealizedResult,
    bars_notes,
    combine_partitions,
    measures_for_partition,
    plan_partitions,
)


@task(name="realized_partition", cache_policy=NO_CACHE, persist_result=False)
def realized_partition(partition: Partition, settings: Settings) -> pl.DataFrame:
    """One partition's per-day measures; results stay in memory (a frame per partition of a
    few thousand days), nothing is persisted."""
    return measures_for_partition(partition, settings)


def task_runner_for(settings: Settings) -> TaskRunner:
    """A Dask cluster's workers when `settings.dask_address` is set, else a thread pool of
    `settings.realized_workers` threads (Prefect's default pool has no bound, and every
    running partition holds its bars in memory)."""
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    return ThreadPoolTaskRunner(max_workers=settings.realized_workers)


def map_partitions(partitions: Sequence[Partition], settings: Settings) -> list[pl.DataFrame]:
    """The partitions' frames, in partition order, computed as `realized_partition` tasks on
    the task runner of the running flow."""
    futures = realized_partition.map(list(partitions), settings=unmapped(settings))
    return [future.result() for future in futures]


@flow(name="realized_measures", persist_result=False, validate_parameters=False)
def realized_measures(settings: Settings) -> RealizedResult:
    """Plan, fan out, combine: the daily measures of `settings.bars_path`."""
    logger = get_run_logger()
    if settings.bars_path is None:
        raise ValueError("no bars to compute: set VOLPRED_BARS_PATH")
    partitions = plan_partitions(settings.bars_path, settings)
    logger.info(
        "realized measures: %d partition(s) of %s on %s",
        len(partitions),
        settings.bars_path,
        "Dask at " + settings.dask_address if settings.dask_address else "local threads",
    )
    frames = map_partitions(partitions, settings)
    result = combine_partitions(
        frames, str(Path(settings.bars_path).resolve()), bars_notes(partitions, settings)
    )
    logger.info(
        "realized measures: %d days kept, %d dropped; %s",
        result.frame.height,
        len(result.dropped_days),
        ", ".join(f"{k}={v:,}" for k, v in result.counts.items()),
    )
    return result


def compute_realized(settings: Settings) -> RealizedResult:
    """`realized_measures` on the task runner `task_runner_for(settings)` chooses."""
    return realized_measures.with_options(task_runner=task_runner_for(settings))(settings)


def compute_realized_from(path: Path, settings: Settings) -> RealizedResult:
    """`compute_realized` for the bars at `path` (ingest_data's way to fan out)."""
    return compute_realized(settings.with_overrides(bars_path=path))
