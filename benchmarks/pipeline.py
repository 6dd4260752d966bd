"""Time the pipeline as whole processes: cold (no caches), warm (all cached), and the same work
as plain function calls without Prefect. All seven tasks run: the API and the dashboard start
on free ports in a temporary folder (and are stopped after), the report is written there.

    python benchmarks/pipeline.py [--repeat 1] [--temporary-server]

By default the runs use the local Prefect server as `make run` does (started once if needed,
then left running); --temporary-server makes every run start Prefect's temporary server.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLPRED = str(Path(sys.executable).with_name("volpred"))
PLAIN = """
from volpred.model import candidate
from volpred.data.clean import clean
from volpred.config import Settings
from volpred.data.ingest import ingest
from volpred.serving.api.launcher import start_api
from volpred.serving.dashboard.launcher import start_dashboard
from volpred.report import generate_report
s = Settings()
ingest(s); clean(s); candidate.train_candidate(s)
start_api(s, candidate.promote(s).version); start_dashboard(s); generate_report(s)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folders(tmp: str) -> dict[str, str]:
    """Everything a run writes or starts, inside `tmp` and on free ports."""
    return {
        "VOLPRED_DATA_DIR": f"{tmp}/data",
        "VOLPRED_ARTIFACTS_DIR": f"{tmp}/artifacts",
        "VOLPRED_RESULTS_DIR": f"{tmp}/results",
        "VOLPRED_RUN_DIR": f"{tmp}/run",
        "VOLPRED_REPORT_DIR": f"{tmp}/reports",
        "VOLPRED_API_PORT": str(free_port()),
        "VOLPRED_DASHBOARD_PORT": str(free_port()),
    }


def stop_services(env: dict[str, str]) -> None:
    """Stop what the run started, but not the shared local Prefect server."""
    code = (
        "from volpred.runtime import processes; from volpred.config import Settings; "
        "s = Settings(); [processes.stop(s.run_dir, n) for n in ('dashboard', 'api')]"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)  # noqa: S603


def measure(temporary: bool) -> dict[str, float]:
    base = os.environ | {"VOLPRED_LOG_LEVEL": "WARNING", "OMP_NUM_THREADS": "1"}
    if not temporary:
        # The shared local server belongs to the project's run folder (as with `make run`), not
        # to a run's temporary one, so that `make stop` finds it afterwards.
        code = (
            "from volpred.config import Settings; "
            "from volpred.runtime.orchestration import ensure_server; ensure_server(Settings())"
        )
        subprocess.run([sys.executable, "-c", code], env=base, cwd=ROOT, check=True)  # noqa: S603
    with tempfile.TemporaryDirectory() as tmp:
        env = base | folders(tmp)
        run = [VOLPRED, "run", "--no-local-server" if temporary else "--local-server"]
        try:
            cold = timed(run, env)
            warm = timed(run, env)
        finally:
            stop_services(env)
    with tempfile.TemporaryDirectory() as tmp:
        env = base | folders(tmp)
        try:
            plain = timed([sys.executable, "-c", PLAIN], env)
        finally:
            stop_services(env)
    return {"cold": cold, "warm": warm, "plain": plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--temporary-server", action="store_true")
    args = parser.parse_args()
    runs = [measure(args.temporary_server) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    server = "temporary server per run" if args.temporary_server else "the local server"
    print(f"pipeline on the sample source, {server}, median of {args.repeat}:")
    print(f"  cold `volpred run` (no caches)      {med['cold']:7.1f} s")
    print(
        f"  warm `volpred run` (all cached)     {med['warm']:7.1f} s  "
        f"= {100 * med['warm'] / med['cold']:.0f}% of cold (goal <= 25%)"
    )
    print(f"  plain function calls, no Prefect    {med['plain']:7.1f} s")
    overhead = med["cold"] - med["plain"]
    print(
        f"  Prefect overhead                    {overhead:7.1f} s  "
        f"= {100 * overhead / med['cold']:.0f}% of cold (goal <= 30%)"
    )


if __name__ == "__main__":
    main()
