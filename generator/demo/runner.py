"""The demo flow: fault -> SLI drop -> pending -> firing -> notification, with real Prometheus and Alertmanager.

Everything runs on 127.0.0.1 with ports the kernel picks; every process and
thread is stopped on the way out, whether the demo succeeds, fails or is
interrupted.
"""

from __future__ import annotations

import json
import queue
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator.demo.configs import demo_alertmanager_config, prometheus_config
from generator.demo.exporter import Exporter
from generator.demo.listener import WebhookListener
from generator.model.slo import SLO, Model, Tier
from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.rules import windows_of
from generator.tools.servers import Process, ServerError, find_binary, free_port, start, stop, wait_ready
from generator.units.numbers import format_number

DEMO_SPECS = Path(__file__).resolve().parent / "specs"
DEMO_FAULTS = ("error-spike", "outage")  # the faults that break the demo's availability SLO
ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
SLI_EVERY = 2.0  # seconds between SLI lines while watching


class DemoError(ServerError):
    """A demo step failed; the message says which and what to look at."""


@dataclass(frozen=True)
class Event:
    at: float  # seconds since the fault was injected (negative before it)
    kind: str  # ready | baseline | fault | sli | pending | firing | notified
    text: str


@dataclass
class DemoResult:
    slo: SLO
    tier: Tier
    events: list[Event] = field(default_factory=list)
    notification: dict = field(default_factory=dict)  # the webhook payload
    alert: dict = field(default_factory=dict)  # the watched alert inside it
    pids: list[int] = field(default_factory=list)  # of the prometheus and alertmanager processes (all stopped)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]


def watched(model: Model) -> tuple[SLO, Tier]:
    """The first SLO with a page tier: the alert the demo makes fire."""
    for slo in model.slos:
        for tier in slo.tiers:
            if tier.notify == "page":
                return slo, tier
    raise DemoError("the demo specs have no SLO with a page tier")


class PrometheusAPI:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict]:
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(address, timeout=5) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise DemoError(f"query {expr!r} failed: {body}")
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


Inspector = Callable[[PrometheusAPI, Path], None]  # called while the stack runs, after the page arrived


def run_demo(
    say: Callable[[str], None] = print,
    *,
    fault: str = "error-spike",
    timeout: float = 180,
    baseline: float = 10,
    specs: Path = DEMO_SPECS,
    workdir: Path | None = None,
    inspect: Inspector | None = None,
) -> DemoResult:
    """Run the whole demo; raises DemoError when the notification does not arrive within `timeout`.

    `baseline` seconds of good traffic come before the fault, so the long
    window holds some history (the test keeps it short). `inspect(api,
    rendered_dir)` runs after the notification, while the stack still runs.
    """
    if fault not in DEMO_FAULTS:
        raise DemoError(f"fault {fault!r} does not break the demo SLO; choose one of {', '.join(DEMO_FAULTS)}")
    with tempfile.TemporaryDirectory(prefix="sloforge-demo-") as tmp, ExitStack() as cleanup:
        return _Demo(Path(workdir or tmp), say, cleanup).run(specs, fault, timeout, baseline, inspect)


class _Demo:
    def __init__(self, root: Path, say: Callable[[str], None], cleanup: ExitStack) -> None:
        self.root = root
        self.say = say
        self.cleanup = cleanup
        self.t0: float | None = None
        self.result: DemoResult | None = None
        self.processes: list[Process] = []

    # --- output -------------------------------------------------------------

    def event(self, kind: str, text: str) -> None:
        at = time.monotonic() - self.t0 if self.t0 is not None else 0.0
        assert self.result is not None
        self.result.events.append(Event(at, kind, text))
        stamp = f"{at:+6.1f}s" if self.t0 is not None else "       "
        self.say(f"{stamp}  {text}")

    # --- setup --------------------------------------------------------------

    def run(self, specs: Path, fault: str, timeout: float, baseline: float, inspect: Inspector | None) -> DemoResult:
        model = load_model(specs)
        slo, tier = watched(model)
        self.result = DemoResult(slo, tier)
        rendered = self.root / "rendered"
        tree = render_all(model)
        write_tree(tree, rendered)
        self.say(f"rendered {len(tree)} files from {specs} (windows {', '.join(w.text for w in windows_of(slo))})")
        api = self.start_stack(rendered, tree)
        self.watch(api, slo, tier, fault, timeout, baseline)
        if inspect is not None:
            inspect(api, rendered)
        return self.result

    def start_stack(self, rendered: Path, tree: dict[str, str]) -> PrometheusAPI:
        listener = WebhookListener().start()
        self.cleanup.callback(listener.stop)
        self.listener = listener
        exporter = Exporter().start()
        self.cleanup.callback(exporter.stop)
        self.exporter = exporter
        am_port, prom_port = free_port(), free_port()
        base = yaml.safe_load(tree[ALERTMANAGER_CONFIG]) if ALERTMANAGER_CONFIG in tree else None
        am_config = self.root / "alertmanager.yml"
        am_config.write_text(yaml.safe_dump(demo_alertmanager_config(base, listener.url), sort_keys=False))
        prom_config = self.root / "prometheus.yml"
        rules = [str(rendered / "prometheus" / "rules" / "*.yaml")]
        config = prometheus_config(f"127.0.0.1:{exporter.port}", f"127.0.0.1:{am_port}", rules)
        prom_config.write_text(yaml.safe_dump(config, sort_keys=False))
        alertmanager = self.spawn(
            "alertmanager",
            [
                find_binary("alertmanager"),
                f"--config.file={am_config}",
                f"--storage.path={self.root / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",  # no HA gossip port
            ],
            f"http://127.0.0.1:{am_port}",
        )
        prometheus = self.spawn(
            "prometheus",
            [
                find_binary("prometheus"),
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={self.root / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            f"http://127.0.0.1:{prom_port}",
        )
        for process in (alertmanager, prometheus):
            wait_ready(process)
        self.say(
            f"workload  http://127.0.0.1:{exporter.port}/metrics\n"
            f"prometheus {prometheus.url}  (rules: {rendered / 'prometheus' / 'rules'})\n"
            f"alertmanager {alertmanager.url}  (receivers replaced by a webhook to {listener.url})"
        )
        return PrometheusAPI(prometheus.url)

    def spawn(self, name: str, argv: list[str], url: str) -> Process:
        process = start(name, argv, self.root / f"{name}.log", url)
        self.cleanup.callback(stop, process)
        self.processes.append(process)
        assert self.result is not None
        self.result.pids.append(process.popen.pid)
        return process

    # --- the incident -------------------------------------------------------

    def watch(self, api: PrometheusAPI, slo: SLO, tier: Tier, fault: str, timeout: float, baseline: float) -> None:
        sel = L.selector(slo.service, slo.name)
        short, long = tier.short_window, tier.long_window
        short_q, long_q = f"{L.error_ratio_series(short.text)}{sel}", f"{L.error_ratio_series(long.text)}{sel}"
        alerts_q = f"ALERTS{L.selector(slo.service, slo.name, alertname=tier.alert_name)}"
        deadline = time.monotonic() + timeout
        self.wait_for(lambda: self.ratios(api, short_q, long_q), deadline, "the first SLI samples")
        if baseline > 0:
            self.say(f"steady good traffic for {baseline:g}s ...")
            time.sleep(baseline)
        steady = self.wait_for(lambda: self.ratios(api, short_q, long_q), deadline, "SLI samples")
        objective = format_number(slo.objective)
        self.say(
            f"baseline: SLI over {short} {self.pct(steady[0])}, over {long} {self.pct(steady[1])} "
            f"(objective {objective}%); {tier.alert_name} pages at {format_number(tier.factor)}x burn on both windows"
        )
        self.exporter.workload.set_fault(fault)
        self.t0 = time.monotonic()
        self.event("fault", f"injected fault {fault!r} into the workload")
        state, last_sli = "", -SLI_EVERY
        while time.monotonic() < deadline:
            now = time.monotonic() - self.t0
            ratios = self.ratios(api, short_q, long_q)
            if ratios and now - last_sli >= SLI_EVERY:
                last_sli = now
                burn = " / ".join(f"{format_number(round(r / float(slo.error_budget), 1))}x" for r in ratios)
                self.event(
                    "sli",
                    f"SLI over {short} {self.pct(ratios[0])}, over {long} {self.pct(ratios[1])}; burn rate {burn}",
                )
            current = self.alert_state(api, alerts_q)
            if current != state and current:
                detail = f" (for {tier.for_})" if current == "pending" else ""
                self.event(current, f"{tier.alert_name} is {current.upper()}{detail}")
            state = current or state
            if self.notified(slo, tier):
                self.exporter.workload.set_fault("none")
                self.say("fault cleared; stopping the demo stack")
                return
            time.sleep(1)
        logs = "\n".join(f"--- {p.name} ---\n{p.log_tail()}" for p in self.processes)
        raise DemoError(f"no notification for {tier.alert_name} within {timeout:g}s\n{logs}")

    def wait_for(
        self, probe: Callable[[], tuple[float, float] | None], deadline: float, what: str
    ) -> tuple[float, float]:
        while time.monotonic() < deadline:
            value = probe()
            if value is not None:
                return value
            time.sleep(0.5)
        raise DemoError(f"timed out waiting for {what}")

    def ratios(self, api: PrometheusAPI, short_q: str, long_q: str) -> tuple[float, float] | None:
        short, long = api.value(short_q), api.value(long_q)
        return None if short is None or long is None else (short, long)

    def alert_state(self, api: PrometheusAPI, query: str) -> str:
        states = {series["metric"].get("alertstate", "") for series in api.query(query)}
        return "firing" if "firing" in states else "pending" if "pending" in states else ""

    def notified(self, slo: SLO, tier: Tier) -> bool:
        assert self.result is not None
        while True:
            try:
                payload = self.listener.inbox.get_nowait()
            except queue.Empty:
                return False
            for alert in payload.get("alerts", []):
                labels = alert.get("labels", {})
                if (
                    alert.get("status") == "firing"
                    and labels.get(L.ALERTNAME) == tier.alert_name
                    and labels.get(L.SERVICE) == slo.service
                    and labels.get(L.SLO) == slo.name
                ):
                    self.result.notification, self.result.alert = payload, alert
                    self.report(payload, alert)
                    return True

    def report(self, payload: dict, alert: dict) -> None:
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        self.event(
            "notified",
            f"notification at the webhook (receiver {payload.get('receiver')}): [{alert['status'].upper()}] "
            f"{labels.get(L.ALERTNAME)} {labels.get(L.SERVICE)}/{labels.get(L.SLO)} "
            f"severity={labels.get(L.SEVERITY)} tier={labels.get(L.TIER)}",
        )
        for key in ("summary", "runbook_url", "dashboard_url"):
            self.say(f"         {key + ':':<15}{notes.get(key, '(missing)')}")

    @staticmethod
    def pct(ratio: float) -> str:
        return f"{(1 - ratio) * 100:.2f}%"
