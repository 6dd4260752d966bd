"""The fault suite's report: each test records what it injected, what was expected, what
happened, checkpoints lost and 5xx answers; the session prints one table at the end (and
`benchmarks/faults.py` runs just this suite to print it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.faults


@dataclass
class FaultRow:
    nodeid: str
    fault: str
    expected: str
    happened: str
    checkpoints_lost: int
    server_errors: int


ROWS: list[FaultRow] = []


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Callable[..., None]:
    """`fault_report(fault, expected, happened, checkpoints_lost=0, server_errors=0)`: call it
    after the test's assertions about the fault have run."""

    def record(
        fault: str, expected: str, happened: str, checkpoints_lost: int = 0, server_errors: int = 0
    ) -> None:
        row = FaultRow(
            request.node.nodeid, fault, expected, happened, checkpoints_lost, server_errors
        )
        ROWS.append(row)

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if not ROWS:
        return
    failed = {r.nodeid for r in terminalreporter.stats.get("failed", [])}
    known = {r.nodeid for r in terminalreporter.stats.get("xfailed", [])}
    tr = terminalreporter
    tr.section("fault suite")
    tr.write_line(f"{'fault':44} {'expected':38} {'happened':44} lost 5xx result")
    for row in ROWS:
        result = "FAIL" if row.nodeid in failed else "xfail" if row.nodeid in known else "pass"
        tr.write_line(
            f"{row.fault[:44]:44} {row.expected[:38]:38} {row.happened[:44]:44} "
            f"{row.checkpoints_lost:4d} {row.server_errors:3d} {result}"
        )
    lost = sum(r.checkpoints_lost for r in ROWS)
    errors = sum(r.server_errors for r in ROWS)
    passed = sum(r.nodeid not in failed and r.nodeid not in known for r in ROWS)
    xfailed = sum(r.nodeid in known for r in ROWS)
    tr.write_line(
        f"{passed}/{len(ROWS)} faults handled; {lost} checkpoints lost; {errors} x 5xx"
        + (f"; {xfailed} known failures (xfail)" if xfailed else "")
    )
