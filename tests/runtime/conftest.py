"""Strangers: servers on free loopback ports that volpred did not start, standing in for a
service of another checkout or an unrelated program at a service's address."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator

import pytest


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[Callable[[int], int]]:
    """`stranger(status)`: an HTTP server answering every GET with `status`; returns its port."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(status: int = 200) -> int:
        handler = type("Answer", (_Answer,), {"status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def listener() -> Iterator[int]:
    """A socket that accepts connections and never speaks HTTP; yields its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
