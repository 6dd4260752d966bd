"""A webhook receiver on loopback: what a notification block posts, collected for a test."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, server: ThreadingHTTPServer, received: queue.Queue[dict[str, Any]]):
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        self._received = received
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict:
        """The first posted body `match` accepts, waiting up to `timeout` seconds."""
        for body in self.seen:
            if match(body):
                return body
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                body = self._received.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(body)
            if match(body):
                return body
        raise AssertionError(f"no matching webhook within {timeout} s; received {self.seen}")


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"raw": raw.decode("utf-8", "replace")}
            received.put(body | {"_path": self.path})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(server, received)
    finally:
        server.shutdown()
        server.server_close()
