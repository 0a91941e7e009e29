"""Feeds the samples live: serves each series' next grid sample with its timestamp, a little ahead of time.

Prometheus scrapes this every 15s; with explicit timestamps the live samples
land exactly on the synthetic grid, so the truth stays exact after the backfill ends.

A sample is served `LEAD` seconds before its timestamp, so the scrape that
stores it comes before every rule group's evaluation at or after it.
Prometheus stores scraped samples up to 10 minutes ahead, and a query at t
still reads only samples at or before t. Until 2026-12-03 a sample was
served only from its timestamp on, so it was stored up to 15 s late; the
groups that evaluated in between read the sample before it, their tile
ended a sample early, and the minute between two tiles was extrapolated
over, as `rate` does. Which groups that hit depended on the feed's port
(the scrape phase), so the accuracy changed from run to run. Samples
stored late are a real case (federation, remote write), documented in
docs/windows.md, "Samples that arrive after the evaluation"; this feed
measures the rules with timely data.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from bench.prom import SCRAPE_INTERVAL
from bench.synth import SLOCounters, SynthConfig, exposition_lines, series_prefixes

LEAD = SCRAPE_INTERVAL + 5  # seconds: one scrape interval, plus time for a slow scrape to finish


class Feed:
    def __init__(self, config: SynthConfig, slos: list[SLOCounters], lead: float = LEAD) -> None:
        """`lead`: seconds before its timestamp a sample is served; negative serves it that long after (late data)."""
        self.config = config
        self.slos = slos
        self.lead = lead
        self.prefixes = [series_prefixes(config, slo) for slo in slos]
        self._cache: tuple[int, bytes] | None = None
        self._lock = threading.Lock()
        self.served = 0

    def body(self, now: float) -> bytes:
        k = self.config.index_at(now + self.lead)
        with self._lock:
            if self._cache is None or self._cache[0] != k:
                ts = f" {self.config.time_of(k) * 1000}\n"
                self._cache = (k, exposition_lines(self.config, self.slos, self.prefixes, k, ts).encode())
            self.served += 1
            return self._cache[1]


class ServesBody(Protocol):
    def body(self, now: float) -> bytes: ...


@contextlib.contextmanager
def serving(feed: ServesBody) -> Iterator[str]:
    """Yields host:port of a metrics endpoint on 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            body = feed.body(time.time())
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
