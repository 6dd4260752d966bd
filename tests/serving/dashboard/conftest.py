"""Servers the dashboard tests talk to: the real API (Flask app over werkzeug, real HTTP, on a
random port) serving the session's small model, an API that answers too slowly, and a port
nobody listens on. Streamlit's caches are process-wide, so each test starts with them empty."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import streamlit as st
from pydantic import SecretStr
from werkzeug.serving import make_server

from volpred.config import Settings


def serve_in_thread(server) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def live_api(served: Settings) -> Iterator[str]:
    """The real API for the served model, as a base URL."""
    from volpred.serving.api import create_app

    app = create_app(served)
    yield from serve_in_thread(make_server("127.0.0.1", 0, app, threaded=True))


@pytest.fixture(scope="module")
def keyed_api(served: Settings) -> Iterator[str]:
    """The real API requiring the key "s3cret"."""
    from volpred.serving.api import create_app

    app = create_app(served.model_copy(update={"api_key": SecretStr("s3cret")}))
    yield from serve_in_thread(make_server("127.0.0.1", 0, app, threaded=True))


class _Slow(http.server.BaseHTTPRequestHandler):
    delay = 2.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the client gave up first: that is the point

    do_POST = do_GET  # noqa: N815 - the name http.server calls

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def slow_api() -> Iterator[str]:
    """An HTTP server that takes 2 s to answer anything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    yield from serve_in_thread(server)


@pytest.fixture
def closed_url() -> str:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No VOLPRED_* from the caller's shell, and empty Streamlit caches."""
    import os

    for key in [k for k in os.environ if k.startswith("VOLPRED_")]:
        monkeypatch.delenv(key)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch):
    """point_at(url, key=None, timeout=None): the dashboard (in this process) calls `url`."""

    def point(url: str, key: str | None = None, timeout: float | None = None) -> None:
        monkeypatch.setenv("VOLPRED_DASHBOARD_API_URL", url)
        if key is not None:
            monkeypatch.setenv("VOLPRED_API_KEY", key)
        if timeout is not None:
            monkeypatch.setenv("VOLPRED_DASHBOARD_API_TIMEOUT", str(timeout))

    return point
