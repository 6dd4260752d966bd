"""Realized measures from 1-minute bars at scale: Polars against pandas, and the local task
runner against Dask with 1 and 2 workers.

    python benchmarks/realized.py [--sizes 10M,100M] [--dir /work/tmp-bench] [--keep]

For each size it writes synthetic 1-minute bars (the 09:30-16:00 session of every weekday,
UTC timestamps, random-walk prices; one `year=YYYY/bars.parquet` file per year, ~98k rows) in
a temporary folder under --dir, then runs each variant in a fresh subprocess and prints wall
time, input bars per second, bars per second per core (wall, 2 cores) and per CPU-second, and
peak RSS (the subprocess's own ru_maxrss; for Dask also the largest worker's):

* ``polars``: `measures_from_bars` (lazy scans, streaming engine, one partition after another)
* ``polars-read``: only reading and checking the bars of every partition (`_read_partition`),
  so that the aggregation's own cost is ``polars`` minus ``polars-read``
* ``pandas``: the same measures with pandas (pyarrow reader) on the same files, or on the
  first tenth of them above 20 M bars (pandas holds the whole input in memory)
* ``prefect-local``, ``dask-1``, ``dask-2``: `compute_realized` on a temporary Prefect
  server, with the thread pool or a LocalCluster of 1 or 2 single-threaded worker processes
  (its start is not timed)

A 1,000-year synthetic calendar is what 100 M session bars of one instrument take; Polars'
time-zone rules have no daylight saving time after 2037, which the generator and the reader
share. The folder is deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

SESSION_MINUTES = 390
ROWS_PER_YEAR_ESTIMATE = 261 * SESSION_MINUTES


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * scale)


def write_bars(folder: Path, rows: int, seed: int = 7) -> int:
    """Session-only 1-minute bars from 1900 on, a year per file, until `rows` are written."""
    rng = np.random.default_rng(seed)
    written, year, price = 0, 1900, 100.0
    minutes = 9 * 60 + 30 + np.arange(SESSION_MINUTES)
    while written < rows:
        days = pl.date_range(pl.date(year, 1, 1), pl.date(year, 12, 31), "1d", eager=True)
        days = days.filter(days.dt.weekday() <= 5)
        start = days.cast(pl.Datetime("us")).to_numpy().astype(np.int64)
        local = (start[:, None] + minutes[None, :] * 60_000_000).ravel()[: rows - written]
        n = local.size
        steps = rng.normal(0.0, 4e-4, n)
        close = price * np.exp(np.cumsum(steps))
        open_ = np.concatenate([[price], close[:-1]])
        price = float(close[-1])
        wick = np.abs(rng.normal(0.0, 2e-4, (2, n)))
        frame = pl.DataFrame(
            {
                "timestamp": pl.from_epoch(pl.Series(local), "us")
                .dt.replace_time_zone("America/New_York")
                .dt.convert_time_zone("UTC"),
                "open": open_,
                "high": np.maximum(open_, close) * np.exp(wick[0]),
                "low": np.minimum(open_, close) * np.exp(-wick[1]),
                "close": close,
                "volume": rng.integers(0, 5000, n).astype(np.float64),
            }
        )
        target = folder / f"year={year}"
        target.mkdir(parents=True)
        frame.write_parquet(target / "bars.parquet")
        written += n
        year += 1
    return written


# -- the variants, each run in its own process -------------------------------------------------


def files_of(path: Path, share: float = 1.0) -> list[Path]:
    from volpred.data.realized import list_bar_files

    files = list_bar_files(path)
    return files[: max(1, round(len(files) * share))]


def run_polars(path: Path) -> dict:
    from volpred.config import Settings
    from volpred.data.realized import measures_from_bars

    result = measures_from_bars(path, Settings())
    return {"rows": result.counts["rows"], "days": result.frame.height}


def run_polars_read(path: Path) -> dict:
    from volpred.config import Settings
    from volpred.data.realized import _read_partition, plan_partitions

    rows = sum(_read_partition(p).height for p in plan_partitions(path, Settings()))
    return {"rows": rows}


def run_pandas(path: Path, share: float) -> dict:
    """The same measures in idiomatic pandas: read everything, convert, group."""
    import pandas as pd

    frames = [
        pd.read_parquet(f, columns=["timestamp", "open", "close", "volume"])
        for f in files_of(path, share)
    ]
    df = pd.concat(frames, ignore_index=True)
    rows = len(df)
    local = df["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(None)
    df = df.assign(local=local).drop(columns="timestamp")
    tod = (df["local"] - df["local"].dt.normalize()).dt.total_seconds() / 60
    df = df[(tod >= 570) & (tod < 960)]
    df = df.sort_values("local", kind="stable").drop_duplicates("local", keep="last")
    df["day"] = df["local"].dt.normalize()
    df["bucket"] = df["local"].dt.floor("5min")
    grid = df.groupby(["day", "bucket"], sort=True).agg(close=("close", "last")).reset_index()
    first = df.groupby("day", sort=True).agg(
        first=("open", "first"),
        n_bars=("close", "size"),
        zero_volume=("volume", lambda v: int((v == 0).sum())),
    )
    grid["lp"] = np.log(grid["close"])
    prev = grid.groupby("day")["lp"].shift(1)
    prev = prev.fillna(np.log(grid["day"].map(first["first"])))
    grid["r"] = grid["lp"] - prev
    grid["r2"] = grid["r"] ** 2
    grid["up2"] = grid["r"].clip(lower=0) ** 2
    grid["bp"] = grid["r"].abs() * grid.groupby("day")["r"].shift(1).abs()
    days = grid.groupby("day").agg(rv5=("r2", "sum"), rs_pos=("up2", "sum"), bp=("bp", "sum"))
    days["bv"] = np.pi / 2 * days["bp"]
    return {"rows": rows, "days": len(days)}


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def run_prefect(path: Path, workers: int) -> dict:
    """The second of two runs is timed; the first pays Prefect's and the workers' start-up
    and is reported as `cold`."""
    from prefect.testing.utilities import prefect_test_harness

    from volpred.config import Settings
    from volpred.flows.realized import compute_realized

    settings = Settings(bars_path=path)
    with prefect_test_harness(server_startup_timeout=180):
        if workers == 0:
            cold, result = timed(compute_realized, settings)
            warm, result = timed(compute_realized, settings)
            return {
                "rows": result.counts["rows"],
                "timed": warm,
                "cold": cold,
                "partitions": result.counts["partitions"],
            }
        from distributed import Client, LocalCluster

        with LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"},
        ) as cluster:
            remote = settings.model_copy(update={"dask_address": cluster.scheduler_address})
            cold, result = timed(compute_realized, remote)
            warm, result = timed(compute_realized, remote)
            with Client(cluster) as client:
                peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return {
            "rows": result.counts["rows"],
            "timed": warm,
            "cold": cold,
            "partitions": result.counts["partitions"],
            "worker_rss_mb": max(peaks.values()) / 1024,
        }


def child(variant: str, path: Path, share: float) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    import pandas  # noqa: F401 - imports are not timed

    import volpred.data.realized  # noqa: F401

    wall, cpu = time.perf_counter(), time.process_time()
    if variant == "polars":
        out = run_polars(path)
    elif variant == "polars-read":
        out = run_polars_read(path)
    elif variant == "pandas":
        out = run_pandas(path, share)
    elif variant == "prefect-local":
        out = run_prefect(path, 0)
    else:
        out = run_prefect(path, int(variant.split("-")[1]))
    out["wall"] = out.pop("timed", time.perf_counter() - wall)
    out["cpu"] = time.process_time() - cpu
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def measure(variant: str, path: Path, share: float = 1.0) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--dir", str(path), "--share", str(share)]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{variant} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def report(label: str, variant: str, out: dict) -> None:
    rows, wall = out["rows"], out["wall"]
    extra = ""
    if "worker_rss_mb" in out:
        extra = f"  worker peak {out['worker_rss_mb']:,.0f} MB"
    if "cold" in out:
        extra += f"  first run {out['cold']:.2f} s"
    if "partitions" in out:
        extra += f"  ({out['partitions']} partitions)"
    cpu_rate = (
        f"{rows / out['cpu'] / 1e6:>7.1f}"
        if variant.startswith(("polars", "pandas"))
        else "      -"
    )
    print(
        f"{label:>6} {variant:<14} {rows:>12,} {wall:>8.2f} {rows / wall / 1e6:>9.1f} "
        f"{rows / wall / 2e6:>9.1f} {cpu_rate} {out['rss_mb']:>9,.0f}{extra}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10M")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--variants", default="polars,polars-read,pandas,prefect-local,dask-1,dask-2"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--share", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir, args.share)
        return
    free = shutil.disk_usage(args.dir).free / 1e9
    print(
        f"bars under {args.dir} ({free:,.0f} GB free); {os.cpu_count()} cores; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'size':>6} {'variant':<14} {'bars':>12} {'wall s':>8} {'M bars/s':>9} "
        f"{'M/s/core':>9} {'M/cpu-s':>7} {'peak MB':>9}"
    )
    for size in args.sizes.split(","):
        rows = parse_size(size)
        folder = Path(tempfile.mkdtemp(prefix=f"realized-{size}-", dir=args.dir))
        try:
            started = time.perf_counter()
            write_bars(folder, rows)
            mb = sum(f.stat().st_size for f in folder.rglob("*.parquet")) / 1e6
            print(
                f"{size:>6} wrote {rows:,} bars, {mb:,.0f} MB parquet in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            for variant in args.variants.split(","):
                share = 0.1 if variant == "pandas" and rows > 20_000_000 else 1.0
                label = size if share == 1.0 else f"{size}/10"
                report(label, variant, measure(variant, folder, share))
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
