"""A webhook receiver for trying the alerts without a chat service: `volpred alerts listen`
prints what the automations' notification block posts (its default URL is this listener's,
http://127.0.0.1:8787/volpred-alerts). Loopback only by default; it answers 200 to any POST."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Bodies larger than this are cut: a notification is a few hundred bytes.
MAX_BODY = 1 << 20


def webhook_server(
    on_post: Callable[[dict[str, Any]], None], host: str = "127.0.0.1", port: int = 8787
) -> ThreadingHTTPServer:
    """A server (not yet serving: call `serve_forever`) that hands each POST's JSON body, with
    its path under `_path`, to `on_post`; a body that is not JSON arrives as `{"raw": text}`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                body = {"raw": raw.decode("utf-8", "replace")}
            on_post(body | {"_path": self.path})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="volpred-webhooks")
    thread.start()
    return thread
