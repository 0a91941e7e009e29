"""A real Alertmanager with the rendered routing: a page notifies, the same SLO's ticket is inhibited,
and every generated inhibition case (alertmanager/inhibition-tests.yaml) holds.

The rendered config is used as is, except (test config only): every receiver
becomes a webhook to a local HTTP server, waits are shortened, and business
hours are dropped so the control ticket is not muted at night.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.alertmanager.names import CONFIG_PATH, INHIBITION_TESTS_PATH, ROUTING_TESTS_PATH, TEMPLATES_DIR
from generator.tools.amtool_checks import expand_annotation
from generator.tools.servers import ServerError, find_binary, free_port, start, stop, wait_ready
from tests.inhibit_specs import write_specs

DEADLINE = 30.0  # seconds; group_wait is 1s in the test config


class Webhook:
    """Collects Alertmanager webhook posts by receiver path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path.strip("/"), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, receiver: str) -> list[dict]:
        return [alert for path, body in list(self.posts) if path == receiver for alert in body["alerts"]]


def webhook_config(rendered_dir: Path, webhook_url: str) -> dict:
    config = yaml.safe_load((rendered_dir / CONFIG_PATH).read_text())
    config["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": f"{webhook_url}/{r['name']}", "send_resolved": False}]}
        for r in config["receivers"]
    ]
    config["templates"] = [str((rendered_dir / TEMPLATES_DIR).resolve() / "*.tmpl")]

    def shorten(route: dict) -> None:
        route.pop("active_time_intervals", None)
        route.update({"group_wait": "1s", "group_interval": "1s"})
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    return config


@contextlib.contextmanager
def running_alertmanager(config: dict, workdir: Path) -> Iterator[str]:
    """A real Alertmanager on 127.0.0.1 with `config`; yields its URL."""
    try:
        binary = find_binary("alertmanager")
    except ServerError as exc:
        pytest.fail(f"{exc}; `make test` installs it")
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    address = f"127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address={address}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    process = start("alertmanager", argv, workdir / "alertmanager.log", f"http://{address}")
    try:
        wait_ready(process, timeout=DEADLINE)
        yield process.url
    finally:
        stop(process)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


@pytest.fixture
def alertmanager(rendered_dir, tmp_path, webhook) -> Iterator[tuple[str, Webhook]]:
    with running_alertmanager(webhook_config(rendered_dir, webhook.url), tmp_path) as url:
        yield url, webhook


def rendered_alert(rendered_dir: Path, service: str, slo: str, alertname: str) -> tuple[dict, list[str]]:
    """An alert as Prometheus would send it (rendered labels and annotations) and its expected receivers."""
    cases = yaml.safe_load((rendered_dir / ROUTING_TESTS_PATH).read_text())["tests"]
    case = next(c for c in cases if c["name"] == f"{service}/{slo} {alertname}")
    rules = yaml.safe_load((rendered_dir / "prometheus" / "rules" / f"{service}.yaml").read_text())
    rule = next(
        r for g in rules["groups"] for r in g["rules"] if r.get("alert") == alertname and r["labels"][L.SLO] == slo
    )
    labels = {k: str(v) for k, v in case["labels"].items()}
    annotations = {k: expand_annotation(v, labels) for k, v in rule["annotations"].items()}
    return {"labels": labels, "annotations": annotations, "generatorURL": "http://prometheus.test/graph"}, case[
        "receivers"
    ]


def api(url: str, path: str, payload: object | None = None) -> object:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}/api/v2/{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.mark.slow
def test_page_notifies_and_inhibits_the_ticket_of_the_same_slo(alertmanager, rendered_dir, tmp_path):
    url, webhook = alertmanager
    page, page_to = rendered_alert(rendered_dir, "checkout", "availability", "SLOBurnRatePageFast")
    ticket, _ = rendered_alert(rendered_dir, "checkout", "availability", "SLOBurnRateTicketFast")
    control, control_to = rendered_alert(rendered_dir, "checkout", "latency", "SLOBurnRateTicketFast")
    assert page_to == ["payments-page"] and control_to == ["payments-ticket"]
    api(url, "alerts", [page, ticket, control])

    # The control ticket (another SLO, no page firing) arrives: tickets do route to the webhook...
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and not (webhook.alerts("payments-page") and webhook.alerts("payments-ticket")):
        time.sleep(0.2)
    paged = webhook.alerts("payments-page")
    assert [a["labels"][L.ALERTNAME] for a in paged] == ["SLOBurnRatePageFast"], webhook.posts
    assert paged[0]["labels"][L.SLO] == "availability"
    assert paged[0]["annotations"]["runbook_url"] == page["annotations"]["runbook_url"]
    time.sleep(2)  # two more group intervals: a ticket that were not inhibited would have been sent by now

    # ...but the ticket of the paging SLO does not: the page inhibits it.
    tickets = webhook.alerts("payments-ticket")
    assert [(a["labels"][L.SLO], a["labels"][L.ALERTNAME]) for a in tickets] == [("latency", "SLOBurnRateTicketFast")]
    state = {
        (a["labels"][L.SLO], a["labels"][L.ALERTNAME]): a
        for a in api(url, f"alerts?filter={L.SERVICE}%3D%22checkout%22")  # type: ignore[union-attr]
    }
    inhibited = state[("availability", "SLOBurnRateTicketFast")]["status"]
    assert inhibited["state"] == "suppressed"
    assert inhibited["inhibitedBy"] == [state[("availability", "SLOBurnRatePageFast")]["fingerprint"]]
    assert state[("latency", "SLOBurnRateTicketFast")]["status"]["inhibitedBy"] == []


def inhibition_state(url: str, names: dict[frozenset, str]) -> dict[str, tuple[str, list[str]]]:
    """Alert name -> (fingerprint, inhibitedBy fingerprints), as the live Alertmanager reports them."""
    state = {}
    for alert in api(url, "alerts"):  # type: ignore[union-attr]
        name = names.get(frozenset(alert["labels"].items()))
        if name is not None:
            state[name] = (alert["fingerprint"], alert["status"]["inhibitedBy"])
    return state


def inhibition_problems(case: dict, state: dict[str, tuple[str, list[str]]]) -> list[str]:
    fingerprints = {name: fp for name, (fp, _) in state.items()}
    problems = [f"{name} is not listed" for name in case["fire"] if name not in state]
    for name in case["delivered"]:
        if state.get(name, ("", []))[1]:
            problems.append(f"{name} must be delivered but is inhibited by {state[name][1]}")
    for name, sources in case["inhibited"].items():
        by = state.get(name, ("", []))[1]
        allowed = {fingerprints.get(source) for source in sources}
        if not by or not set(by) <= allowed:
            problems.append(f"{name} must be inhibited by one of {sources}, got {by}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("which", ["example", "small"])
def test_generated_inhibition_cases_hold_in_a_live_alertmanager(which, rendered_dir, tmp_path, webhook):
    """Pages are never muted by SLOSLIMissing or a ticket; an alert is muted only by a more severe one of its SLO."""
    out = rendered_dir
    if which == "small":  # tier order flipped for one SLO, a tickets-only SLO
        out = tmp_path / "rendered"
        write_tree(render_all(load_model(write_specs(tmp_path))), out)
    document = yaml.safe_load((out / INHIBITION_TESTS_PATH).read_text())
    labels = {name: {k: str(v) for k, v in values.items()} for name, values in document["alerts"].items()}
    names = {frozenset(values.items()): name for name, values in labels.items()}
    everything = document["tests"][0]
    pages = [n for n in everything["fire"] if labels[n][L.NOTIFY] == "page"]
    assert set(pages) & set(everything["delivered"]) and set(everything["inhibited"])  # not vacuous
    for name, sources in everything["inhibited"].items():
        if labels[name][L.NOTIFY] == "page" and labels[name][L.ALERTNAME] != L.MISSING_SLI_ALERT:
            assert all(labels[s][L.NOTIFY] == "page" and labels[s][L.ALERTNAME] != L.MISSING_SLI_ALERT for s in sources)
    config = webhook_config(out, webhook.url)
    for index, case in enumerate(document["tests"]):
        with running_alertmanager(config, tmp_path / f"am-{index}") as url:
            api(url, "alerts", [{"labels": labels[name]} for name in case["fire"]])
            deadline = time.monotonic() + DEADLINE
            while True:
                problems = inhibition_problems(case, inhibition_state(url, names))
                if not problems or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            time.sleep(0.5)  # settled: nothing else may become inhibited
            problems = inhibition_problems(case, inhibition_state(url, names))
            assert problems == [], f"{case['name']}: {problems}"
