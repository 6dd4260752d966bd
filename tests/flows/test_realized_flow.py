"""The realized-measures flow: partitions fanned out over Prefect's task runner give the same
days on local threads as on a Dask cluster, and the same as one partition."""

from __future__ import annotations

from datetime import date

import pytest
from polars.testing import assert_frame_equal

from volpred.data.realized import measures_from_bars
from volpred.data.sources.sample import write_sample_bars

pytestmark = pytest.mark.integration


@pytest.fixture
def bar_settings(settings, tmp_path):
    small = settings.model_copy(
        update={
            "sample_start": date(2020, 1, 1),
            "sample_end": date(2021, 12, 31),
            "sample_bars_start": date(2020, 1, 1),
            "bars_partition_rows": 6_000,
        }
    )
    folder = write_sample_bars(tmp_path / "bars", small, by="month")
    return small.model_copy(update={"bars_path": folder})


def test_local_threads_and_a_dask_cluster_agree(prefect_server, bar_settings):
    from distributed import LocalCluster

    from volpred.flows.realized import compute_realized, task_runner_for

    local = compute_realized(bar_settings)
    assert type(task_runner_for(bar_settings)).__name__ == "ThreadPoolTaskRunner"
    assert local.counts["partitions"] >= 4
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = bar_settings.model_copy(update={"dask_address": cluster.scheduler_address})
        assert type(task_runner_for(on_dask)).__name__ == "DaskTaskRunner"
        remote = compute_realized(on_dask)
    assert_frame_equal(local.frame, remote.frame)
    assert local.counts == remote.counts
    assert local.dropped_days == remote.dropped_days
    whole = measures_from_bars(
        bar_settings.bars_path, bar_settings.model_copy(update={"bars_partition_rows": 10**9})
    )
    assert whole.counts["partitions"] == 1
    assert_frame_equal(local.frame, whole.frame)
    weekdays = sum(
        1 for d in range(731) if date.fromordinal(date(2020, 1, 1).toordinal() + d).weekday() < 5
    )
    assert local.frame.height == weekdays  # every weekday of 2020-2021 has its bars
