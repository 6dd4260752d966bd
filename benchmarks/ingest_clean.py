"""Time ingest_data + clean_data as plain function calls (no Prefect), on the sample and a CSV.

    python benchmarks/ingest_clean.py [--csv PATH] [--repeat 5]

Prints, per source and stage, the first call (cold: includes imports) and the median and best
of the repeats.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from volpred.config import Settings
from volpred.data.clean import clean
from volpred.data.ingest import ingest


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
    logging.basicConfig(level=logging.ERROR)
    print(f"{'source':<32} {'rows':>6} {'stage':<7} {'cold s':>7} {'median s':>9} {'best s':>7}")
    for label, options in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp), **options)
            times = time_stages(settings, args.repeat)
        for stage in ("ingest", "clean"):
            cold, warm = times[stage][0], times[stage][1:] or times[stage]
            print(
                f"{label:<32} {times['rows'][0]:>6} {stage:<7} {cold:>7.3f} "
                f"{statistics.median(warm):>9.3f} {min(warm):>7.3f}"
            )


if __name__ == "__main__":
    main()
