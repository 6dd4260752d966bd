"""Time the pipeline as whole processes: cold (no caches), warm (all cached), and the same work
as plain function calls without Prefect.

    python benchmarks/pipeline.py [--repeat 1] [--temporary-server]

By default the runs use the local Prefect server as `make run` does (started once if needed,
then left running); --temporary-server makes every run start Prefect's temporary server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLPRED = str(Path(sys.executable).with_name("volpred"))
PLAIN = """
from volpred import candidate
from volpred.clean import clean
from volpred.config import Settings
from volpred.ingest import ingest
s = Settings()
ingest(s); clean(s); candidate.train_candidate(s); candidate.promote(s)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def measure(temporary: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "VOLPRED_DATA_DIR": f"{tmp}/data",
            "VOLPRED_ARTIFACTS_DIR": f"{tmp}/artifacts",
            "VOLPRED_RESULTS_DIR": f"{tmp}/results",
            "VOLPRED_LOG_LEVEL": "WARNING",
            "OMP_NUM_THREADS": "1",
        }
        run = [VOLPRED, "run", "--no-local-server" if temporary else "--local-server"]
        cold = timed(run, env)
        warm = timed(run, env)
    with tempfile.TemporaryDirectory() as tmp:
        env |= {"VOLPRED_DATA_DIR": f"{tmp}/data", "VOLPRED_ARTIFACTS_DIR": f"{tmp}/artifacts"}
        plain = timed([sys.executable, "-c", PLAIN], env)
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
