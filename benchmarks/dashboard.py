"""Time the dashboard as an analyst meets it, in a real browser (Debian's Chromium, Playwright):

- start: from launching `streamlit run` (`start_dashboard`) to a fully rendered Forecast page
  (metrics, the chart drawn, Streamlit idle), split into "healthy" and "rendered";
- what-if round trip: type a new VIX, press Enter, until the new forecast is on screen;
- page switch: Forecast -> Model -> Forecast once the caches are warm.

    python benchmarks/dashboard.py [--runs 3] [--what-ifs 5] [--screenshots DIR]

The API runs under gunicorn (`start_api`) on a small model trained on the synthetic sample
(2008-2025) in a temp folder, or with --project on the project's served model (VOLPRED_*
settings); ports are free ones, pid files and logs in the temp folder.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from volpred.config import Settings  # noqa: E402
from volpred.report import numbers  # noqa: E402
from volpred.serving.api.launcher import start_api, stop_api  # noqa: E402
from volpred.serving.dashboard.client import ApiClient, ApiConfig  # noqa: E402
from volpred.serving.dashboard.launcher import start_dashboard, stop_dashboard  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
METRIC = '[data-testid="stMetricValue"]'
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_rendered(page, timeout_ms: float = 120_000) -> None:
    page.wait_for_selector(METRIC, timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=timeout_ms)
    page.wait_for_function(IDLE, timeout=timeout_ms)


def settle(page, quiet_s: float = 1.0, timeout_s: float = 60) -> None:
    """Until Streamlit is idle and no chart appeared for `quiet_s` (for screenshots)."""
    deadline = time.monotonic() + timeout_s
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_function(IDLE)
        now = page.locator(".main-svg").count()
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        page.wait_for_timeout(200)


def metric_is(page, index: int, text: str, timeout_ms: float = 30_000) -> None:
    page.wait_for_function(
        "([sel, i, t]) => { const m = document.querySelectorAll(sel);"
        " return m.length > i && m[i].innerText.trim() === t; }",
        arg=[METRIC, index, text],
        timeout=timeout_ms,
    )


def start_once(settings: Settings, browser, shots: Path | None, run: int) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    started = time.perf_counter()
    start_dashboard(settings)
    healthy = time.perf_counter()
    page.goto(settings.dashboard_url)
    page.wait_for_selector(METRIC, timeout=120_000)
    first_number = time.perf_counter()
    wait_rendered(page)
    rendered = time.perf_counter()
    if shots:
        page.screenshot(path=str(shots / f"forecast-{run}.png"), full_page=True)
    page.close()
    stop_dashboard(settings)
    return {
        "healthy": healthy - started,
        "first_number": first_number - started,
        "rendered": rendered - started,
    }


def what_ifs(settings: Settings, browser, n: int, shots: Path | None) -> dict[str, list[float]]:
    api = ApiClient(ApiConfig.from_settings(settings))
    day = api.predict("latest")["as_of"]
    start_dashboard(settings)
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(settings.dashboard_url)
    wait_rendered(page)
    box = page.get_by_label("VIX (points)")
    trips = []
    for i in range(n):
        vix = 25.0 + 5 * i + 0.25  # a new value each time: never answered from cache
        expected = numbers.vol(api.predict(day, {"vix": vix})["vol"])
        box.fill(f"{vix:.2f}")
        started = time.perf_counter()
        box.press("Enter")
        metric_is(page, 2, expected)
        trips.append(time.perf_counter() - started)
        page.wait_for_function(IDLE)
    if shots:
        page.screenshot(path=str(shots / "what-if.png"), full_page=True)
    switches = []
    for name, title in (("Model", "Model review"), ("Data", "Data"), ("Market history", None)):
        page.get_by_role("link", name=name).first.click()
        if title:
            page.get_by_role("heading", name=title).first.wait_for()
        settle(page)
        if shots:
            page.screenshot(
                path=str(shots / f"{name.lower().replace(' ', '-')}.png"), full_page=True
            )
    for _ in range(3):  # warm: Forecast again, from the caches
        page.get_by_role("link", name="Model").first.click()
        page.get_by_role("heading", name="Model review").first.wait_for()
        page.wait_for_function(IDLE)
        started = time.perf_counter()
        page.get_by_role("link", name="Forecast").first.click()
        page.get_by_role("heading", name="What if?").wait_for()
        wait_rendered(page)
        switches.append(time.perf_counter() - started)
    page.close()
    stop_dashboard(settings)
    return {"what_if": trips, "switch": switches}


def fresh_model(root: Path) -> Settings:
    """The small served model on the synthetic sample (`_served.build_served`)."""
    from _served import build_served

    return build_served(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--what-ifs", type=int, default=5)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--project", action="store_true", help="the project's served model")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings() if args.project else fresh_model(Path(tmp))
        settings = base.model_copy(
            update={
                "run_dir": Path(tmp) / "run",
                "api_port": free_port(),
                "dashboard_port": free_port(),
                "data_dir": base.data_dir.resolve(),
                "artifacts_dir": base.artifacts_dir.resolve(),
            }
        )
        api = start_api(settings)
        print(f"API {api.url} model {api.model_version}; dashboard {settings.dashboard_url}")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                try:
                    starts = [
                        start_once(settings, browser, args.screenshots, i) for i in range(args.runs)
                    ]
                    loop = what_ifs(settings, browser, args.what_ifs, args.screenshots)
                finally:
                    browser.close()
        finally:
            stop_dashboard(settings)
            stop_api(settings)

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print(f"streamlit run -> healthy          : {med([s['healthy'] for s in starts])}")
    print(f"streamlit run -> first number     : {med([s['first_number'] for s in starts])}")
    print(f"streamlit run -> Forecast rendered: {med([s['rendered'] for s in starts])}")
    print(f"what-if round trip (Enter -> new number on screen): {med(loop['what_if'])}")
    print(f"page switch Model -> Forecast (warm caches, rendered): {med(loop['switch'])}")


if __name__ == "__main__":
    sys.exit(main())
