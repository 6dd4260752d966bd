"""The local Prefect server: one answering at the address is used, not doubled."""

from __future__ import annotations

import http.server
import threading

from volpred.runtime import orchestration, processes


class Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args) -> None:
        pass


def test_a_server_answering_elsewhere_is_used_not_doubled(settings, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = settings.with_overrides(run_dir=tmp_path / "run", prefect_port=server.server_port)
        assert orchestration.ensure_server(local) is None
        assert processes.running(local.run_dir, "prefect-server") is None  # nothing started
    finally:
        server.shutdown()
        server.server_close()
