"""Demo workload: the example specs' metrics with steady good traffic and switchable faults.

Traffic is simulated in-process at fixed rates, deterministically (no random
numbers): a share of 0.2 means exactly every fifth request is bad. Faults are
the incident drills SRE courses use and are switched over HTTP:

    curl -X POST localhost:9100/fault/error-spike     # or latency-spike, outage, probe-failure
    curl -X POST localhost:9100/fault/none            # back to normal
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass(frozen=True)
class Behaviour:
    """Bad shares per signal; everything else is good traffic."""

    checkout_errors: float = 0.0002
    checkout_slow: float = 0.003
    gateway_errors: float = 0.001
    gateway_slow: float = 0.01
    pipeline_failed: float = 0.001
    probe_up: bool = True


NORMAL = Behaviour()
FAULTS: dict[str, Behaviour] = {
    "none": NORMAL,
    "error-spike": replace(NORMAL, checkout_errors=0.5, gateway_errors=0.3, pipeline_failed=0.2),
    "latency-spike": replace(NORMAL, checkout_slow=0.5, gateway_slow=0.5),
    "outage": replace(NORMAL, checkout_errors=1.0, gateway_errors=1.0, pipeline_failed=1.0, probe_up=False),
    "probe-failure": replace(NORMAL, probe_up=False),
}

RATES = {"checkout": 50.0, "ml-gateway": 20.0, "feature-pipeline": 100.0}  # events per second
CHECKOUT_BUCKETS = (0.05, 0.1, 0.3, 1, 3)
GATEWAY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5)
# Good latencies cycle through these (all under the SLI thresholds: 300ms and 1s).
FAST_CHECKOUT = (0.02, 0.04, 0.06, 0.08, 0.12, 0.18, 0.25)
FAST_GATEWAY = (0.08, 0.15, 0.3, 0.45, 0.7, 0.9)
SLOW_CHECKOUT, SLOW_GATEWAY = 0.8, 2.0


class Share:
    """Deterministic Bernoulli stream: `next(share)` is True for exactly that share of calls."""

    def __init__(self) -> None:
        self.acc = 0.0

    def next(self, share: float) -> bool:
        self.acc += share
        if self.acc >= 1.0:
            self.acc -= 1.0
            return True
        return False


class Workload:
    """The simulated services, advanced by `tick(seconds)`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("http_requests", "Checkout HTTP requests", ["job", "code"], registry=r)
        self.latency = Histogram(
            "http_request_duration_seconds", "Checkout latency", ["job"], buckets=CHECKOUT_BUCKETS, registry=r
        )
        self.inference = Counter("inference_requests", "Inference requests", ["job", "outcome"], registry=r)
        self.inference_latency = Histogram(
            "inference_request_duration_seconds", "Inference latency", ["job"], buckets=GATEWAY_BUCKETS, registry=r
        )
        self.processed = Counter("pipeline_records_processed", "Feature records processed", ["job"], registry=r)
        self.failed = Counter("pipeline_records_failed", "Feature records failed", ["job"], registry=r)
        self.probe = Gauge("probe_success", "Blackbox probe result", ["job", "target"], registry=r)
        self.fault_gauge = Gauge("sloforge_demo_fault", "1 for the injected fault", ["fault"], registry=r)
        # Bad-outcome series exist from the start, so rates read 0 rather than nothing.
        self.requests.labels("checkout", "500")
        self.inference.labels("ml-gateway", "error")
        self.fault = "none"
        self.lock = threading.Lock()
        self.carry = dict.fromkeys(RATES, 0.0)
        self.shares = {name: Share() for name in ("ce", "cs", "ge", "gs", "pf")}
        self.counter = 0
        self.set_fault("none")

    def set_fault(self, name: str) -> None:
        if name not in FAULTS:
            raise KeyError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            self.fault = name
            for fault in FAULTS:
                self.fault_gauge.labels(fault).set(1 if fault == name else 0)

    def _count(self, service: str, seconds: float) -> int:
        self.carry[service] += RATES[service] * seconds
        whole = int(self.carry[service])
        self.carry[service] -= whole
        return whole

    def tick(self, seconds: float) -> None:
        with self.lock:
            b = FAULTS[self.fault]
            for _ in range(self._count("checkout", seconds)):
                self.counter += 1
                bad = self.shares["ce"].next(b.checkout_errors)
                self.requests.labels("checkout", "500" if bad else "200").inc()
                slow = self.shares["cs"].next(b.checkout_slow)
                fast = FAST_CHECKOUT[self.counter % len(FAST_CHECKOUT)]
                self.latency.labels("checkout").observe(SLOW_CHECKOUT if slow else fast)
            for _ in range(self._count("ml-gateway", seconds)):
                self.counter += 1
                bad = self.shares["ge"].next(b.gateway_errors)
                self.inference.labels("ml-gateway", "error" if bad else "success").inc()
                slow = self.shares["gs"].next(b.gateway_slow)
                fast = FAST_GATEWAY[self.counter % len(FAST_GATEWAY)]
                self.inference_latency.labels("ml-gateway").observe(SLOW_GATEWAY if slow else fast)
            records = self._count("feature-pipeline", seconds)
            failed = sum(self.shares["pf"].next(b.pipeline_failed) for _ in range(records))
            self.processed.labels("feature-pipeline").inc(records)
            self.failed.labels("feature-pipeline").inc(failed)
            self.probe.labels("blackbox", "storefront").set(1 if b.probe_up else 0)


class _Handler(BaseHTTPRequestHandler):
    workload: Workload

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path.split("?")[0] == "/metrics":
            self._send(200, generate_latest(self.workload.registry), CONTENT_TYPE_LATEST)
        elif self.path.rstrip("/") == "/fault":
            self._json(200, {"fault": self.workload.fault, "faults": list(FAULTS)})
        else:
            self._send(200, (__doc__ or "").encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        name = self.path.rstrip("/").removeprefix("/fault/")
        try:
            self.workload.set_fault(name)
        except KeyError as exc:
            self._json(400, {"error": str(exc.args[0])})
            return
        self._json(200, {"fault": name})

    do_PUT = do_POST

    def _json(self, status: int, body: dict) -> None:
        self._send(status, (json.dumps(body) + "\n").encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # scrapes every second would drown the demo's output


class Exporter:
    """The workload ticking in a thread, served over HTTP on (host, port); port 0 picks a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tick: float = 0.1) -> None:
        self.workload = Workload()
        handler = type("Handler", (_Handler,), {"workload": self.workload})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.tick = tick
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self.server.serve_forever, name="exporter-http", daemon=True),
            threading.Thread(target=self._run, name="exporter-traffic", daemon=True),
        ]

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def _run(self) -> None:
        last = time.monotonic()
        while not self.stopped.wait(self.tick):
            now = time.monotonic()
            self.workload.tick(now - last)
            last = now

    def start(self) -> Exporter:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="sloforge demo workload exporter")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--fault", default="none", choices=sorted(FAULTS))
    args = parser.parse_args(argv)
    exporter = Exporter(args.host, args.port).start()
    exporter.workload.set_fault(args.fault)
    # As PID 1 in a container, SIGTERM has no default action: stop cleanly on `docker stop`.
    signal.signal(signal.SIGTERM, lambda *_: exporter.stopped.set())
    print(f"demo exporter on http://{args.host}:{exporter.port}/metrics (faults: POST /fault/<name>)", flush=True)
    try:
        exporter.stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        exporter.stop()


if __name__ == "__main__":
    main()
