"""The dashboard with its API down and with its API answering too slowly: a plain message on
every page, the rest of each page still there, no exception."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from volpred.serving.dashboard.launcher import APP

pytestmark = pytest.mark.faults
PAGES = ["pages/forecast.py", "pages/history.py", "pages/model.py", "pages/data.py"]


class Sleepy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(2.0)
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass

    do_POST = do_GET  # noqa: N815 - the name http.server calls

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def dashboard_env(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()

    def point(url: str, timeout: float = 5.0) -> None:
        monkeypatch.setenv("VOLPRED_DASHBOARD_API_URL", url)
        monkeypatch.setenv("VOLPRED_DASHBOARD_API_TIMEOUT", str(timeout))

    yield point
    st.cache_data.clear()
    st.cache_resource.clear()


def visit_all(at: AppTest) -> tuple[list[str], int]:
    """Messages shown on each page, and how many elements the pages still drew besides them
    (titles, captions, headers, inputs); the what-if form must survive on the first page."""
    shown, drawn = [], 0
    at.run(timeout=60)
    # The what-if form is still there (empty when no day's value is known: none is made up).
    vix = at.number_input(key="wi_vix").value
    assert vix is None or vix > 0
    for page in [None, *PAGES]:
        if page:
            at.switch_page(page).run(timeout=60)
        assert not at.exception, at.exception
        shown.append(" ".join(str(m.value) for m in [*at.warning, *at.error, *at.sidebar.warning]))
        drawn += sum(
            len(kind)
            for kind in (at.title, at.caption, at.header, at.subheader, at.number_input, at.button)
        )
    return shown, drawn


def test_api_down(dashboard_env, fault_report):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    dashboard_env(url)
    shown, drawn = visit_all(AppTest.from_file(str(APP), default_timeout=60))
    plain = f"The API at {url} is not answering"
    assert all(plain in text for text in shown) and drawn > len(shown)
    fault_report(
        "dashboard, API down", "plain message, pages work", f"{len(shown)} page views said so"
    )


def test_api_slow(dashboard_env, fault_report):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sleepy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        dashboard_env(url, timeout=0.4)
        started = time.perf_counter()
        shown, drawn = visit_all(AppTest.from_file(str(APP), default_timeout=60))
        seconds = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    assert all("answered slowly" in text for text in shown) and drawn > len(shown)
    fault_report(
        "dashboard, API slow (2 s > 0.4 s limit)",
        "plain message, pages work",
        f"{len(shown)} page views said so in {seconds:.1f} s",
    )
