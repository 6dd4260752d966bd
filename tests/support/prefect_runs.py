"""A flow run's task runs, read from the Prefect server."""

from __future__ import annotations

from typing import Any


def task_runs(flow_state) -> dict[str, Any]:
    """Task name -> its task run (state, message) in one flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_run_id = flow_state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {run.name.rsplit("-", 1)[0]: run for run in runs}


def task_states(flow_state) -> dict[str, str]:
    """Task name -> final state name ('Completed', 'Cached', 'Failed'...) of one flow run."""
    return {name: run.state.name for name, run in task_runs(flow_state).items() if run.state}
