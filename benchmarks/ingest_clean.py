"""Time ingest_data + clean_data as plain function calls (no Prefect), on the sample and a CSV.

    python benchmarks/ingest_clean.py [--csv PATH] [--repeat 5]

Prints the median and best wall time of each stage per source.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from volpred.clean import clean
from volpred.config import Settings
from volpred.ingest import ingest


def time_stages(settings: Settings, repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ingest": [], "clean": []}
    for _ in range(repeat):
        started = time.perf_counter()
        result = ingest(settings)
        times["ingest"].append(time.perf_counter() - started)
        started = time.perf_counter()
        clean(settings)
        times["clean"].append(time.perf_counter() - started)
    times["rows"] = [result.rows]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--csv", type=Path, help="a canonical raw CSV, e.g. the real 1990-2018 file"
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = {"sample": {"source": "sample"}}
    if args.csv:
        cases[f"csv ({args.csv.name})"] = {"source": "csv", "csv_path": args.csv}
    print(f"{'source':<40} {'rows':>6} {'stage':<7} {'median s':>9} {'best s':>8}")
    for label, options in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp), **options)
            times = time_stages(settings, args.repeat)
        for stage in ("ingest", "clean"):
            print(
                f"{label:<40} {times['rows'][0]:>6} {stage:<7} "
                f"{statistics.median(times[stage]):>9.3f} {min(times[stage]):>8.3f}"
            )


if __name__ == "__main__":
    main()
