"""A real Prometheus on 127.0.0.1: start, query, read its own metrics, stop.

Only this module and `evaluation` start processes; every process is stopped
by the context manager that started it, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from generator.tools.servers import Process, find_binary, free_port, start, stop, wait_ready

SCRAPE_INTERVAL = 15  # seconds between scrapes of the live feed (bench.exporter)


@dataclass
class Prometheus:
    process: Process

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def log(self) -> Path:
        return self.process.log

    def get(self, path: str, params: dict[str, str] | None = None, timeout: float = 600) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=timeout) as response:
            return response.read()

    def api(self, path: str, params: dict[str, str]) -> dict:
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}{path}", data=data, timeout=600) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None, stats: bool = False) -> dict:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        if stats:
            params["stats"] = "all"
        return self.api("/api/v1/query", params)

    def metrics(self) -> dict[str, float]:
        """This server's own /metrics, summed per metric name (labels dropped)."""
        totals: dict[str, float] = {}
        for line in self.get("/metrics").decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name_part, _, value = line.rpartition(" ")
            name = name_part.split("{", 1)[0]
            with contextlib.suppress(ValueError):
                totals[name] = totals.get(name, 0.0) + float(value)
        return totals

    def peak_rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(data: Path, config: Path, log: Path, retention: str = "120d") -> Iterator[Prometheus]:
    """A Prometheus over `data` with `config`, listening on a free 127.0.0.1 port."""
    port = free_port()
    argv = [
        find_binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--query.max-samples=500000000",
        "--query.timeout=10m",
        "--log.level=warn",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    process = start("prometheus", argv, log, f"http://127.0.0.1:{port}")
    try:
        wait_ready(process, timeout=600)  # a 30-day TSDB takes minutes to open
        yield Prometheus(process)
    finally:
        stop(process, grace=120)  # shutting down writes the head block


def settle(server: Prometheus, quiet_for: float = 70, min_uptime: float = 90, poll: float = 10) -> float:
    """Wait until the TSDB stops compacting (it checks once a minute); returns seconds waited."""
    started = time.monotonic()
    data_dir = Path(_flag(server, "--storage.tsdb.path="))
    last, last_change = None, time.monotonic()
    while True:
        metrics = server.metrics()
        state = (
            metrics.get("prometheus_tsdb_compactions_total"),
            metrics.get("prometheus_tsdb_blocks_loaded"),
            metrics.get("prometheus_tsdb_vertical_compactions_total"),
            any(".tmp" in path.name for path in data_dir.iterdir()),
        )
        now = time.monotonic()
        if state != last:
            last, last_change = state, now
        if now - started >= min_uptime and now - last_change >= quiet_for and not state[3]:
            return now - started
        time.sleep(poll)


def _flag(server: Prometheus, prefix: str) -> str:
    args = server.process.popen.args
    assert isinstance(args, list)
    return next(str(arg)[len(prefix) :] for arg in args if str(arg).startswith(prefix))


def write_config(path: Path, rule_glob: str | None, scrape_target: str | None) -> Path:
    lines = ["global:", f"  scrape_interval: {SCRAPE_INTERVAL}s", "  evaluation_interval: 1m"]
    if rule_glob:
        lines += ["rule_files:", f"  - {json.dumps(rule_glob)}"]
    if scrape_target:
        lines += [
            "scrape_configs:",
            "  - job_name: bench",
            "    honor_timestamps: true",
            f"    scrape_timeout: {SCRAPE_INTERVAL - 1}s",
            f"    static_configs: [{{targets: [{json.dumps(scrape_target)}]}}]",
            "    metric_relabel_configs:",
            "      # the backfilled series have no job/instance labels; keep them one series",
            "      - {action: labeldrop, regex: 'job|instance'}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
