"""Time generate_report alone: figure export and PDF separately, median of --repeat runs.

    python benchmarks/report.py [--repeat 3] [--data-dir D --artifacts-dir A]

Without folders it first builds the small sample-trained model the tests use (in a temporary
folder, by benchmarks/_served.py; not timed). Two cases:

- cold: a fresh process per run, as `volpred report` or a flow task runs it: Chromium starts
  (overlapped with WeasyPrint's import and building the figures), then export and PDF;
- warm: repeated calls in one process with the browser already running (the API worker case).

figures_s = build the figures + wait for the browser + export them; pdf_s = embed the figures,
render the HTML, lay out the PDF; total_s = the whole generate_report call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYS = ["figures_s", "browser_wait_s", "export_s", "pdf_s", "total_s"]
ONE_RUN = """
import json, sys
from pathlib import Path
from volpred.config import Settings
from volpred.report import generate_report
s = Settings(data_dir=Path(sys.argv[1]), artifacts_dir=Path(sys.argv[2]),
             report_dir=Path(sys.argv[3]))
r = generate_report(s, run_id="benchmark")
print(json.dumps(r.timings.as_dict() | {"pages": r.pages}))
"""


def build_sample(root: Path) -> tuple[Path, Path]:
    """The small served model on the synthetic sample (`_served.build_served`)."""
    from _served import build_served

    settings = build_served(root)
    return settings.data_dir, settings.artifacts_dir


def cold(data: Path, artifacts: Path, out: Path) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-c", ONE_RUN, str(data), str(artifacts), str(out)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | {"OMP_NUM_THREADS": "1", "VOLPRED_LOG_LEVEL": "WARNING"},
    )
    timings = json.loads(proc.stdout.strip().splitlines()[-1])
    return timings | {"process_s": time.perf_counter() - started}


def warm(data: Path, artifacts: Path, out: Path, repeat: int) -> list[dict[str, float]]:
    from volpred.config import Settings
    from volpred.report import generate_report

    settings = Settings(data_dir=data, artifacts_dir=artifacts, report_dir=out)
    generate_report(settings, run_id="benchmark-warmup")  # starts the browser
    return [generate_report(settings, run_id="benchmark").timings.as_dict() for _ in range(repeat)]


def show(label: str, runs: list[dict[str, float]], keys: list[str]) -> None:
    medians = {k: statistics.median(r[k] for r in runs) for k in keys}
    cells = "  ".join(f"{k} {v:6.2f}" for k, v in medians.items())
    print(f"{label:5s} (median of {len(runs)}): {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--artifacts-dir", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="volpred-bench-report-") as tmp:
        if args.data_dir and args.artifacts_dir:
            data, artifacts = args.data_dir, args.artifacts_dir
        else:
            print("building the sample-trained model (not timed)...", flush=True)
            data, artifacts = build_sample(Path(tmp) / "served")
        out = Path(tmp) / "reports"
        cold_runs = [cold(data, artifacts, out) for _ in range(args.repeat)]
        print(f"pages: {int(cold_runs[-1]['pages'])}, cpus: {os.cpu_count()}, "
              f"load: {os.getloadavg()[0]:.2f}")  # fmt: skip
        show("cold", cold_runs, [*KEYS, "process_s"])
        show("warm", warm(data, artifacts, out, args.repeat), KEYS)


if __name__ == "__main__":
    main()
