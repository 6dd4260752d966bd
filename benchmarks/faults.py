"""Run the fault suite (tests/faults: network, disk, bad input, API, processes, static checks)
and print its table: each fault, what was expected, what happened, checkpoints lost, 5xx count.

    .venv/bin/python benchmarks/faults.py                      # the whole suite
    .venv/bin/python benchmarks/faults.py -m "not integration"  # the fast part only
    .venv/bin/python benchmarks/faults.py tests/faults/test_disk.py  # one module

Extra arguments go to pytest. The exit code is pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = " fault suite "


def table(output: str) -> list[str]:
    """The 'fault suite' section of pytest's terminal summary, up to its totals line."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if SECTION in line and "===" in line), None)
    if start is None:
        return []
    section = []
    for line in lines[start + 1 :]:
        if line.startswith("==="):
            break
        section.append(line)
    return section


def main(argv: list[str]) -> int:
    # Paths among the arguments replace the default target (e.g. one module of the suite).
    targets = [] if any(a.startswith("tests/") for a in argv) else ["tests/faults"]
    command = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider", *argv]
    env = os.environ | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    seconds = time.perf_counter() - started
    rows = table(done.stdout)
    summary = [ln for ln in done.stdout.splitlines() if ln.strip()][-1:] or ["(no output)"]
    if done.returncode not in (0, 1) or not rows:
        sys.stdout.write(done.stdout[-5000:] + done.stderr[-3000:])
    print(f"fault suite: {' '.join(command[1:])}  ({seconds:.0f} s)")
    print("\n".join(rows) if rows else "no fault rows were recorded")
    print(f"pytest: {summary[0].strip('= ')}  (exit code {done.returncode})")
    if done.returncode:
        failures = [ln for ln in done.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        print("\n".join(failures))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
