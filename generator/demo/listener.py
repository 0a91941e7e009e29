"""A webhook receiver on 127.0.0.1 that stands in for PagerDuty, Slack and friends in the demo."""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    inbox: queue.Queue[dict]

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            self.inbox.put(json.loads(self.rfile.read(length) or b"{}"))
        except json.JSONDecodeError:
            self.send_response(400)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class WebhookListener:
    """Collects Alertmanager webhook payloads in `inbox`; port 0 picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.inbox: queue.Queue[dict] = queue.Queue()
        handler = type("Handler", (_Handler,), {"inbox": self.inbox})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-listener", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/alerts"  # an AF_INET server: host is a str, never bytes

    def start(self) -> WebhookListener:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
