"""The local demo: workload, demo configs under the real tools, and the whole flow headless (slow)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from generator.demo.configs import demo_alertmanager_config, prometheus_config
from generator.demo.exporter import FAULTS, Exporter, Workload
from generator.demo.runner import DEMO_SPECS, DemoError, PrometheusAPI, run_demo, watched
from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.links import runbook_url


def sample(workload: Workload, name: str, labels: dict[str, str]) -> float:
    value = workload.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


# --- workload -------------------------------------------------------------------


def test_workload_is_steady_then_breaks_exactly_as_the_fault_says():
    workload = Workload()
    workload.tick(10)  # 500 checkout requests at the normal 0.02% error share
    ok = sample(workload, "http_requests_total", {"job": "checkout", "code": "200"})
    assert ok + sample(workload, "http_requests_total", {"job": "checkout", "code": "500"}) == 500
    assert sample(workload, "probe_success", {"job": "blackbox", "target": "storefront"}) == 1
    workload.set_fault("error-spike")
    workload.tick(10)
    errors = sample(workload, "http_requests_total", {"job": "checkout", "code": "500"})
    assert errors == pytest.approx(250, abs=1)  # half of the next 500
    workload.set_fault("latency-spike")
    before = sample(workload, "http_request_duration_seconds_bucket", {"job": "checkout", "le": "0.3"})
    workload.tick(2)  # 100 requests, half slower than 300ms
    after = sample(workload, "http_request_duration_seconds_bucket", {"job": "checkout", "le": "0.3"})
    assert after - before == pytest.approx(50, abs=1)
    workload.set_fault("probe-failure")
    workload.tick(1)
    assert sample(workload, "probe_success", {"job": "blackbox", "target": "storefront"}) == 0
    assert sample(workload, "sloforge_demo_fault", {"fault": "probe-failure"}) == 1
    with pytest.raises(KeyError):
        workload.set_fault("meteor-strike")


def test_exporter_serves_metrics_and_switches_faults_over_http():
    exporter = Exporter().start()
    try:
        base = f"http://127.0.0.1:{exporter.port}"
        with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
            assert b"http_requests_total" in response.read()
        post = urllib.request.Request(base + "/fault/outage", method="POST")
        with urllib.request.urlopen(post, timeout=5) as response:
            assert json.load(response) == {"fault": "outage"}
        assert exporter.workload.fault == "outage"
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(urllib.request.Request(base + "/fault/nope", method="POST"), timeout=5)
        assert bad.value.code == 400
    finally:
        exporter.stop()
    assert set(FAULTS) >= {"none", "error-spike", "latency-spike", "outage", "probe-failure"}


# --- demo configs under the real tools ---------------------------------------------


def test_demo_alertmanager_config_keeps_routing_and_only_delivers_to_the_webhook(amtool, rendered_dir, tmp_path):
    rendered = yaml.safe_load((rendered_dir / "alertmanager" / "alertmanager.yml").read_text())
    config = demo_alertmanager_config(rendered, "http://127.0.0.1:9/alerts")
    text = yaml.safe_dump(config)
    assert "_file" not in text and "time_intervals" not in text
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in rendered["receivers"]]
    for receiver, original in zip(config["receivers"], rendered["receivers"], strict=True):
        delivers = any(key.endswith("_configs") for key in original)
        expected = [{"url": "http://127.0.0.1:9/alerts", "send_resolved": True}] if delivers else None
        assert receiver.get("webhook_configs") == expected
        assert set(receiver) <= {"name", "webhook_configs"}
    assert config["inhibit_rules"] == rendered["inhibit_rules"]
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    done = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # the routing tree still sends a page to the team's page receiver
    route = subprocess.run(
        [amtool, "config", "routes", "test", "--config.file", str(path)]
        + ["slo_service=checkout", "slo_name=availability", "team=payments", "slo_notify=page"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert route.stdout.strip() == "payments-page", route.stdout + route.stderr


def test_demo_prometheus_config_passes_promtool(promtool, tmp_path):
    model = load_model(DEMO_SPECS)
    write_tree(render_all(model), tmp_path / "rendered")
    rules = str(tmp_path / "rendered" / "prometheus" / "rules" / "*.yaml")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(prometheus_config("127.0.0.1:1", "127.0.0.1:2", [rules])))
    done = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rendered_rules = sum(
        len(group["rules"])
        for file in (tmp_path / "rendered" / "prometheus" / "rules").glob("*.yaml")
        for group in yaml.safe_load(file.read_text())["groups"]
    )
    assert f"SUCCESS: {rendered_rules} rules found" in done.stdout  # the glob loads every rendered rule
    slo, tier = watched(model)
    assert tier.notify == "page" and tier.long_window.seconds <= 60  # fires within the test's budget


# --- the whole flow -------------------------------------------------------------------


def evaluate_dashboards(api: PrometheusAPI, rendered: Path, results: dict[str, int]) -> None:
    """Every dashboard query, with Grafana variables set to "all", against the live demo Prometheus."""
    for path in sorted((rendered / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"].replace("$slo", ".+").replace("$service", ".+").replace("$team", ".+")
                results[f"{path.name} / {panel['title']} / {target['refId']}"] = len(api.query(expr))


@pytest.mark.slow
def test_demo_fault_travels_to_a_notification_with_its_runbook_link(amtool, promtool):
    lines: list[str] = []
    dashboard_results: dict[str, int] = {}
    result = run_demo(
        lines.append,
        baseline=1,
        timeout=150,
        inspect=lambda api, rendered: evaluate_dashboards(api, rendered, dashboard_results),
    )
    model = load_model(DEMO_SPECS)
    slo, tier = watched(model)
    kinds = result.kinds()
    for earlier, later in (("fault", "pending"), ("pending", "firing"), ("firing", "notified")):
        assert kinds.index(earlier) < kinds.index(later), lines
    slis = [float(m) for e in result.events if e.kind == "sli" for m in re.findall(r"SLI over \S+ ([\d.]+)%", e.text)]
    assert min(slis) < float(slo.objective), lines  # the SLI visibly drops below the objective
    labels, annotations = result.alert["labels"], result.alert["annotations"]
    assert result.alert["status"] == "firing"
    assert labels[L.ALERTNAME] == tier.alert_name and labels[L.SEVERITY] == "critical"
    assert result.notification["receiver"] == f"{slo.team}-page"
    assert annotations["runbook_url"] == runbook_url(model.settings, slo)
    assert any(annotations["runbook_url"] in line for line in lines)
    # every dashboard query answers while the alert fires
    empty = [where for where, count in dashboard_results.items() if count == 0]
    assert dashboard_results and not empty, empty
    # and nothing is left running
    for pid in result.pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_demo_refuses_a_fault_that_cannot_break_its_slo():
    with pytest.raises(DemoError, match="does not break the demo SLO"):
        run_demo(lambda line: None, fault="probe-failure")
