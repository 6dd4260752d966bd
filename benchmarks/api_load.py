"""Bounded load on a live gunicorn API over loopback, with wrk: requests/s, p50 and p99 per
endpoint, then a sustained mixed run that must see zero non-2xx answers.

    python benchmarks/api_load.py                  # serves ./artifacts + ./data (make run)
    python benchmarks/api_load.py --duration 10 --connections 16 --sustained 60

The API is started on a free port from the configured (or given) folders and stopped after.
Goals (2 cores): /predict one row >= 60% of /health's requests/s; p99 < 20 ms at 16
connections; zero non-2xx in the sustained run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from volpred.config import Settings
from volpred.serving.api.launcher import start_api, stop_api

ONE = json.dumps({"date": "latest"})
BATCH = json.dumps({"rows": [{"date": "latest"}] * 50 + [{"date": "2020-03-16"}] * 50})
CASES = [
    ("GET /health", "GET", "/health", None),
    ("GET /predict?date=latest", "GET", "/predict?date=latest", None),
    ("POST /predict one row", "POST", "/predict", ONE),
    ("POST /predict 100 rows", "POST", "/predict", BATCH),
    ("GET /plot?format=json", "GET", "/plot?kind=history&format=json", None),
]
MIXED = [
    ("POST", "/predict", ONE),
    ("POST", "/predict", json.dumps({"date": "latest", "features": {"vix": 30.0}})),
    ("POST", "/predict", BATCH),
    ("GET", "/plot?kind=forecast&format=json&start=2020-01-01", None),
    ("GET", "/health", None),
]


def lua_script(
    requests: list[tuple[str, str, str | None]], headers: dict[str, str] | None = None
) -> str:
    """A wrk script cycling through `requests` (with `headers` on each)."""
    static = "".join(
        f"headers[{json.dumps(k)}] = {json.dumps(v)}\n  " for k, v in (headers or {}).items()
    )
    items = ",\n".join(
        f"{{method={json.dumps(m)}, path={json.dumps(p)}, "
        f"body={json.dumps(b) if b is not None else 'nil'}}}"
        for m, p, b in requests
    )
    return f"""
local requests = {{ {items} }}
local i = 0
request = function()
  i = i % #requests + 1
  local r = requests[i]
  local headers = {{}}
  {static}if r.body then headers["Content-Type"] = "application/json" end
  return wrk.format(r.method, r.path, headers, r.body)
end
"""


def wrk(url: str, script: Path, duration: int, connections: int, threads: int) -> dict:
    out = subprocess.run(
        [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-s", str(script), url,
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def latency(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": latency("50%"),
        "p99_ms": latency("99%"),
        "requests": total,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--artifacts-dir", type=Path)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (1 leaves the server more of 2 cores)"
    )
    parser.add_argument("--sustained", type=int, default=60, help="seconds of mixed load")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk; `make setup` does it)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="volpred-api-load-"))
    settings = Settings().with_overrides(
        data_dir=args.data_dir, artifacts_dir=args.artifacts_dir, run_dir=work, api_port=free_port()
    )
    try:
        status = start_api(settings)
    except Exception as exc:  # noqa: BLE001 - explain and stop
        stop_api(settings)  # a server that started without a model to serve
        shutil.rmtree(work, ignore_errors=True)
        print(f"could not start the API ({exc}); run `make run` first", file=sys.stderr)
        return 2
    print(
        f"API {settings.api_url}, model {status.model_version}, {settings.api_workers} sync "
        f"workers; wrk {args.threads} threads x {args.connections} connections, "
        f"{args.duration} s each\n"
    )
    results = {}
    key = {"X-API-Key": settings.api_key.get_secret_value()} if settings.api_key else None
    try:
        print(f"{'endpoint':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for label, method, path, body in CASES:
            script = work / "case.lua"
            script.write_text(lua_script([(method, path, body)], key))
            r = wrk(settings.api_url, script, args.duration, args.connections, args.threads)
            results[label] = r
            print(
                f"{label:28} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['non_2xx']:8d}"
            )
        ratio = results["POST /predict one row"]["rps"] / results["GET /health"]["rps"]
        ratio_get = results["GET /predict?date=latest"]["rps"] / results["GET /health"]["rps"]
        print(
            f"\n/predict one row (POST) / /health: {100 * ratio:.0f}% "
            f"(GET date=latest: {100 * ratio_get:.0f}%; goal >= 60%)"
        )
        if args.sustained:
            script = work / "mixed.lua"
            script.write_text(lua_script(MIXED, key))
            r = wrk(settings.api_url, script, args.sustained, args.connections, args.threads)
            print(
                f"sustained mixed load, {args.sustained} s: {r['requests']} requests, "
                f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                f"non-2xx {r['non_2xx']}, socket errors: {r['socket_errors']}"
            )
    finally:
        stop_api(settings)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
