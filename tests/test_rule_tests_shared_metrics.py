"""SLOs of one service that read the same metric still get rule tests, each from its own inputs.

The most common HTTP pair: availability from a latency histogram's `_count`
and latency from its `_bucket`; also two SLOs on the same counters with
different objectives. Each
SLO's synthetic series would feed the other's rules, so they get separate
test groups whose checks select that SLO only; promtool must pass them and
fail them when a rule is broken.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from fixture_paths import TEAMS

from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all
from generator.targets.rule_tests import TESTS_DIR, fastest_page_tier, render_rule_tests
from generator.targets.rule_tests import tests_path as service_tests_file
from generator.tools.promtool_tests import run_rule_test, run_rule_tests

SHARED = """
apiVersion: sloforge/v1
kind: Service
service: web
team: payments
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        errors: sum(rate(http_request_duration_seconds_count{job="web",code=~"5.."}[{{.window}}]))
        total: sum(rate(http_request_duration_seconds_count{job="web"}[{{.window}}]))
  - name: latency
    objective: 99
    sli:
      latency:
        histogram: http_request_duration_seconds
        selector: '{job="web"}'
        threshold: 300ms
        buckets: [0.1, 0.3, 1]
---
apiVersion: sloforge/v1
kind: Service
service: api
team: payments
slos:
  - name: strict
    objective: 99.9
    sli:
      events:
        errors: sum(rate(requests_total{job="api",code=~"5.."}[{{.window}}]))
        total: sum(rate(requests_total{job="api"}[{{.window}}]))
  - name: relaxed
    objective: 99
    window: 7d
    sli:
      events:
        errors: sum(rate(requests_total{job="api",code=~"5.."}[{{.window}}]))
        total: sum(rate(requests_total{job="api"}[{{.window}}]))
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    specs = root / "specs"
    specs.mkdir()
    shutil.copy(TEAMS, specs / "teams.yaml")
    (specs / "services.yaml").write_text(SHARED)
    model = load_model(specs)
    out = root / "out"
    write_tree(render_all(model), out)
    return model, out


def _groups(out: Path, service: str) -> list[dict]:
    groups = []
    for path in sorted((out / TESTS_DIR).glob(f"{service}.*test.yaml")):
        groups += yaml.safe_load(path.read_text())["tests"]
    return groups


def _series_text(group: dict) -> str:
    return "\n".join(series["series"] for series in group["input_series"])


def test_every_slo_on_a_shared_metric_gets_rule_tests(shared):
    model, out = shared
    assert render_rule_tests(model).warnings == ()
    for service in model.services:
        names = [group["name"] for group in _groups(out, service.name)]
        for slo in service.slos:
            for tier in slo.tiers:
                for kind in ("fires", "silent"):
                    prefix = f"{service.name} {tier.name}: {kind}"
                    assert any(n.startswith(prefix) and f"{slo.name} at " in n for n in names), (slo.key, kind)
            outage = fastest_page_tier(slo)
            assert any(f"full outage: {outage.name}" in n and f"{slo.name} within" in n for n in names), slo.key


def test_each_group_holds_inputs_for_one_of_the_slos_that_share_a_metric(shared):
    """Availability's and latency's series never meet in one group (they would feed each other's rules)."""
    _, out = shared
    groups = [group for group in _groups(out, "web") if group.get("input_series")]
    assert groups
    for group in groups:
        text = _series_text(group)
        availability = 'code="5' in text  # availability's bad events carry a 5xx code
        latency = "_bucket{" in text
        assert not (availability and latency), group["name"]


def test_generated_tests_for_shared_metrics_pass_promtool(shared, promtool):
    _, out = shared
    results = run_rule_tests(out)
    assert results
    failed = [f"{result.what}\n{result.output}" for result in results if not result.ok]
    assert not failed, "\n\n".join(failed)


@pytest.mark.parametrize(("service", "slo"), [("web", "availability"), ("web", "latency"), ("api", "relaxed")])
def test_a_broken_rule_of_one_shared_metric_slo_fails_its_tests(shared, tmp_path, promtool, service, slo):
    """Double one SLO's page-fast burn factor: that SLO's own (isolated) tests must catch it."""
    _, out = shared
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    rules_file = copy / "prometheus" / "rules" / f"{service}.yaml"
    document = yaml.safe_load(rules_file.read_text())
    changed = 0
    for group in document["groups"]:
        if group["name"] != f"sloforge-{service}-{slo}":
            continue
        for rule in group["rules"]:
            if rule.get("alert") == "SLOBurnRatePageFast":
                rule["expr"] = rule["expr"].replace(" > ", " > 2 * ")
                changed += 1
    assert changed
    rules_file.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run_rule_test(copy / service_tests_file(service))  # page-fast is tested at the rules' own interval
    assert not result.ok, f"{service}/{slo}: a doubled factor went unnoticed"
    assert f'slo_name="{slo}"' in result.output
