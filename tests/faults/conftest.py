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


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    failed = {r.nodeid for r in terminalreporter.stats.get("failed", [])}
    known = {r.nodeid for r in terminalreporter.stats.get("xfailed", [])}
    fixed = {r.nodeid for r in terminalreporter.stats.get("xpassed", [])}
    recorded = {r.nodeid for r in ROWS}
    # A fault test that failed before recording its row still gets one.
    silent = sorted(n for n in failed if "tests/faults/" in n and n not in recorded)
    if not ROWS and not silent:
        return
    tr = terminalreporter
    tr.section("fault suite")
    tr.write_line(f"{'result':6} {'lost':>4} {'5xx':>3}  {'fault':50} {'expected':44} happened")
    for row in ROWS:
        result = "FAIL" if row.nodeid in failed else "xfail" if row.nodeid in known else "pass"
        result = "XPASS" if row.nodeid in fixed else result  # fixed: drop its xfail mark
        tr.write_line(
            f"{result:6} {row.checkpoints_lost:4d} {row.server_errors:3d}  "
            f"{_cut(row.fault, 50):50} {_cut(row.expected, 44):44} {_cut(row.happened, 110)}"
        )
    for nodeid in silent:
        name = nodeid.split("::", 1)[-1]
        tr.write_line(f"{'FAIL':6} {'?':>4} {'?':>3}  {_cut(name, 50):50} {'(see failure)':44} -")
    lost = sum(r.checkpoints_lost for r in ROWS)
    errors = sum(r.server_errors for r in ROWS)
    passed = sum(r.nodeid not in failed and r.nodeid not in known for r in ROWS)
    xfailed = sum(r.nodeid in known for r in ROWS)
    total = len(ROWS) + len(silent)
    tr.write_line(
        f"{passed}/{total} faults handled; {lost} checkpoints lost; {errors} x 5xx"
        + (f"; {xfailed} known failures (xfail)" if xfailed else "")
        + (f"; {len(silent)} failed without a row" if silent else "")
    )
