"""A webhook receiver on loopback (the product's `volpred.monitoring.listener`) that collects
what a notification block posts, for a test to wait on."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from volpred.monitoring.listener import serve_in_background, webhook_server


class Receiver:
    def __init__(self, url: str, received: queue.Queue[dict[str, Any]]):
        self.url = url
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
    server = webhook_server(received.put, port=0)
    serve_in_background(server)
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    finally:
        server.shutdown()
        server.server_close()
