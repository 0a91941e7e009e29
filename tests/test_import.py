"""`sloforge import`: small Sloth, OpenSLO and Pyrra inputs written here, the output held to sloforge's own checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.model.validate import validate
from generator.spec.errors import SpecErrors
from generator.spec.load import load_specs

SLOTH = """\
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
  tier: "2"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Availability of HTTP requests."
    labels:
      category: availability
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      annotations:
        summary: "High error rate on {{ $labels.job }}"
        runbook_url: https://wiki.example.com/runbooks/myservice
      page_alert:
        labels:
          severity: pageteam
          routing_key: myteam
      ticket_alert:
        disable: true
  - name: "plugged"
    objective: 99
    sli:
      plugin:
        id: "sloth-common/kubernetes/apiserver/availability"
"""

PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-latency
  namespace: shop
  labels:
    pyrra.dev/team: web
    pyrra.dev/tier: gold
spec:
  target: "99"
  window: 2w
  indicator:
    latency:
      success:
        metric: http_request_duration_seconds_bucket{job="api",le="0.5"}
      total:
        metric: http_request_duration_seconds_count{job="api"}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-errors
  namespace: shop
spec:
  target: "99.5"
  window: 4w
  indicator:
    ratio:
      errors:
        metric: http_requests_total{job="api",code=~"5.."}
      total:
        metric: http_requests_total{job="api"}
      grouping: [route]
"""

OPENSLO = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-success
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(http_requests_total{job="checkout",code!~"5.."})
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(http_requests_total{job="checkout"})
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  labels:
    team: [payments]
spec:
  service: checkout
  indicatorRef: checkout-success
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: strict
      target: 0.999
    - displayName: relaxed
      target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-monthly
spec:
  service: checkout
  indicatorRef: checkout-success
  timeWindow:
    - duration: 1w
      isRolling: false
      calendar: {startTime: "2022-01-01 00:00:00", timeZone: UTC}
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
"""


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(main, ["import", *args], catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def loads_and_validates(out: Path) -> None:
    specs = load_specs(out)
    assert not specs.errors, specs.errors
    validate(specs)


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_sloth_spec_maps_labels_annotations_and_skips_plugins(tmp_path):
    source = write(tmp_path, "sloth.yml", SLOTH)
    out = tmp_path / "out"
    result = run(tmp_path, str(source), "--out", str(out))
    assert result.exit_code == 1, result.output  # one SLO skipped
    assert re.search(r"skipped.*sloth-common/kubernetes/apiserver/availability", result.output.replace("\n", " "))
    loads_and_validates(out)
    (service,) = documents(out / "myservice.yaml")
    assert service["team"] == "myteam" and service["labels"] == {"owner": "myteam", "tier": "2"}
    (slo,) = service["slos"]
    assert slo["sli"]["events"]["errors"].startswith("sum(rate(http_requests_total")
    assert slo["labels"] == {"category": "availability"}
    assert slo["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/myservice"
    assert slo["alerting"] == {
        "page": {"severity": "pageteam", "labels": {"routing_key": "myteam"}},
        "ticket": {"enabled": False},
    }
    text = (out / "myservice.yaml").read_text()
    assert f"# from {source.as_posix()}:7 (Sloth prometheus/v1)" in text
    assert "approximation: alert name 'MyServiceHighErrorRate' not kept" in text
    assert "routing_key=myteam" in (out / "teams.yaml").read_text()


def test_imported_spec_renders_labels_annotations_and_external_runbook(tmp_path):
    from generator.pipeline import load_model
    from generator.targets.rules import render_rules

    out = tmp_path / "out"
    assert run(tmp_path, str(write(tmp_path, "sloth.yml", SLOTH)), "--out", str(out)).exit_code == 1
    rules = yaml.safe_load(render_rules(load_model(out)).files["prometheus/rules/myservice.yaml"])
    by_name = {rule.get("alert") or rule.get("record"): rule for rule in rules["groups"][0]["rules"]}
    page = by_name["SLOBurnRatePageFast"]
    assert page["labels"]["routing_key"] == "myteam" and page["labels"]["category"] == "availability"
    assert page["labels"]["severity"] == "pageteam"  # Sloth's page severity, kept on both page tiers
    assert page["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/myservice"
    assert (
        page["annotations"]["summary"] == 'High error rate on {{ "{{" }} $labels.job }}'
    )  # escaped, printed literally
    assert "SLOBurnRateTicketFast" not in by_name
    assert by_name["slo:info"]["labels"]["category"] == "availability"
    assert "routing_key" not in by_name["slo:info"]["labels"]
    assert by_name["SLOSLIMissing"]["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/myservice"


def test_pyrra_latency_becomes_latency_kind_and_grouping_is_kept(tmp_path):
    out = tmp_path / "out"
    result = run(tmp_path, str(write(tmp_path, "pyrra.yaml", PYRRA)), "--out", str(out))
    assert result.exit_code == 0, result.output
    loads_and_validates(out)
    (service,) = documents(out / "shop.yaml")
    assert service["team"] == "web"
    latency, errors = sorted(service["slos"], key=lambda slo: slo["name"] != "api-latency")
    assert latency["window"] == "2w" and latency["objective"] == 99
    assert latency["sli"] == {
        "latency": {"histogram": "http_request_duration_seconds", "selector": '{job="api"}', "threshold": "500ms"}
    }
    assert latency["labels"] == {"tier": "gold"}
    assert errors["grouping"] == ["route"]
    assert errors["sli"]["events"]["total"] == 'sum by (route) (rate(http_requests_total{job="api"}[{{.window}}]))'


def test_openslo_objectives_become_slos_and_calendar_windows_are_skipped(tmp_path):
    out = tmp_path / "out"
    result = run(tmp_path, str(write(tmp_path, "openslo.yaml", OPENSLO)), "--out", str(out))
    assert result.exit_code == 1
    assert "calendar" in result.output
    loads_and_validates(out)
    (service,) = documents(out / "checkout.yaml")
    assert service["team"] == "payments"
    names = [slo["name"] for slo in service["slos"]]
    assert names == ["checkout-availability-strict", "checkout-availability-relaxed"]
    first = service["slos"][0]
    assert first["objective"] == 99.9 and first["window"] == "28d"
    assert first["sli"]["events"]["good"] == 'sum(rate(http_requests_total{job="checkout",code!~"5.."}[{{.window}}]))'


def test_everything_imported_exits_0_and_team_option_wins(tmp_path):
    pyrra = PYRRA.split("---")[0]
    out = tmp_path / "out"
    result = run(tmp_path, str(write(tmp_path, "p.yaml", pyrra)), "--out", str(out), "--team", "sre")
    assert result.exit_code == 0, result.output
    assert documents(out / "shop.yaml")[0]["team"] == "sre"
    pagerduty = {"pagerduty": {"routing_key_file": "/etc/alertmanager/secrets/sre-pagerduty"}}
    assert documents(out / "teams.yaml")[0]["teams"] == {"sre": {"page": pagerduty, "ticket": pagerduty}}


def test_output_is_deterministic(tmp_path):
    source = write(tmp_path, "o.yaml", OPENSLO)
    run(tmp_path, str(source), "--out", str(tmp_path / "a"))
    run(tmp_path, str(source), "--out", str(tmp_path / "b"))
    for name in ("checkout.yaml", "teams.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("version: prometheus/v1\nservice: x\nslos: [\n", "4:1", "invalid YAML"),
        ('version: "prometheus/v9"\nservice: x\nslos: []\n', "1:10", "unknown Sloth version"),
        (SLOTH.replace("objective: 99.9", "objective: 101"), "8:16", "strictly between 0 and 100"),
        (PYRRA.replace('target: "99"', 'target: "abc"'), "10:11", "expected a number"),
        ("just: a mapping\n", "1:1", "not a Sloth, OpenSLO or Pyrra document"),
        ("- 1\n- 2\n", "1:1", "not a Sloth, OpenSLO or Pyrra document"),
        (
            OPENSLO.replace(
                "indicatorRef: checkout-success\n  timeWindow:\n    - duration: 28d",
                "indicatorRef: nope\n  timeWindow:\n    - duration: 28d",
            ),
            "",
            "no SLI document",
        ),
    ],
)
def test_invalid_input_exits_2_with_position_and_writes_nothing(tmp_path, text, position, fragment):
    source = write(tmp_path, "in.yaml", text)
    out = tmp_path / "out"
    result = run(tmp_path, str(source), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"in.yaml:{position}" in result.output and fragment in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_existing_files_are_never_overwritten_without_force(tmp_path):
    source = write(tmp_path, "p.yaml", PYRRA.split("---")[0])
    out = tmp_path / "out"
    out.mkdir()
    (out / "teams.yaml").write_text("mine\n")
    result = run(tmp_path, str(source), "--out", str(out))
    assert result.exit_code == 2 and "already exists" in result.output
    assert (out / "teams.yaml").read_text() == "mine\n" and not (out / "shop.yaml").exists()
    assert run(tmp_path, str(source), "--out", str(out), "--force").exit_code == 0
    assert (out / "teams.yaml").read_text() != "mine\n"


def test_rendered_output_cannot_be_imported_back(tmp_path):
    out = tmp_path / "specs"
    assert run(tmp_path, str(write(tmp_path, "p.yaml", PYRRA.split("---")[0])), "--out", str(out)).exit_code == 0
    rendered = tmp_path / "rendered"
    assert CliRunner().invoke(main, ["render", "--specs", str(out), "--out", str(rendered)]).exit_code == 0
    for target in (rendered, out):
        result = run(tmp_path, str(target), "--out", str(tmp_path / "again"))
        assert result.exit_code == 2, result.output
        assert "cannot be imported back" in result.output or "already a sloforge spec" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "again").exists()


def test_from_option_refuses_other_formats(tmp_path):
    result = run(tmp_path, "--from", "sloth", str(write(tmp_path, "p.yaml", PYRRA)), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "not sloth" in result.output


def test_hostile_labels_and_names_are_tamed(tmp_path):
    hostile = SLOTH.replace('tier: "2"', 'tier: "{{ $value }}"\n  "bad-label": x\n  team: "Ops Team!"')
    out = tmp_path / "out"
    result = run(tmp_path, str(write(tmp_path, "s.yml", hostile)), "--out", str(out))
    assert result.exit_code == 1, result.output
    loads_and_validates(out)
    (service,) = documents(out / "myservice.yaml")
    assert service["team"] == "ops-team"
    assert service["labels"] == {"owner": "myteam"}
    text = (out / "myservice.yaml").read_text()
    assert "holds a template" in text and "not a Prometheus label name" in text


SPEC = """\
apiVersion: sloforge/v1
kind: Teams
teams: {payments: {}}
---
apiVersion: sloforge/v1
kind: Service
service: checkout
team: payments
slos:
  - name: availability
    objective: 99.9
    labels: LABELS
    alerting: {page: {labels: TIER}}
    sli:
      raw: {error_ratio: "avg_over_time(x[{{.window}}])"}
"""


@pytest.mark.parametrize(
    ("labels", "tier", "fragment"),
    [
        ('{a: "{{ $value }}"}', "{}", "holds a template"),
        ("{objective: x}", "{}", "is set by sloforge"),
        ("{}", "{severity: page}", "is set by sloforge"),
        ("{}", '{b: "}}"}', "holds a template"),
    ],
)
def test_spec_labels_must_be_literal_and_not_sloforges_own(tmp_path, labels, tier, fragment):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.yaml").write_text(SPEC.replace("LABELS", labels).replace("TIER", tier))
    with pytest.raises(SpecErrors) as caught:
        validate(load_specs(specs))
    assert fragment in str(caught.value) and "s.yaml:1" in str(caught.value)


def test_docs_describe_the_command():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text()
    for needle in ("sloforge import", "Sloth", "OpenSLO", "Pyrra", "| exit code |", "labels:", "annotations:"):
        assert needle in docs


def test_policy_tier_labels_are_checked_too(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.yaml").write_text(SPEC.replace("LABELS", "{}").replace("TIER", "{}"))
    (specs / "p.yaml").write_text(
        'apiVersion: sloforge/v1\nkind: Policy\ntiers:\n  page-fast: {labels: {x: "{{ $labels.job }}"}}\n'
    )
    with pytest.raises(SpecErrors) as caught:
        validate(load_specs(specs))
    assert "p.yaml:4" in str(caught.value) and "holds a template" in str(caught.value)


def test_a_service_named_teams_does_not_replace_the_teams_stub(tmp_path):
    pyrra = PYRRA.split("---")[0].replace("namespace: shop", "namespace: teams")
    out = tmp_path / "out"
    assert run(tmp_path, str(write(tmp_path, "p.yaml", pyrra)), "--out", str(out)).exit_code == 0
    assert documents(out / "service-teams.yaml")[0]["service"] == "teams"
    assert documents(out / "teams.yaml")[0]["kind"] == "Teams"
    loads_and_validates(out)


def test_sloth_alert_windows_become_a_policy(tmp_path):
    windows = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 30d
  page:
    quick: {errorBudgetPercent: 4, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}
"""
    out = tmp_path / "out"
    sources = [str(write(tmp_path, "w.yaml", windows)), str(write(tmp_path, "p.yaml", PYRRA.split("---")[0]))]
    assert run(tmp_path, *sources, "--out", str(out)).exit_code == 0
    (policy,) = documents(out / "policy.yaml")
    assert policy["tiers"]["page-fast"] == {"long_window": "1h", "short_window": "5m", "budget_share": 0.04}
    loads_and_validates(out)


def test_sloth_slos_take_the_alert_windows_period(tmp_path):
    windows = CORPUS_FREE_WINDOWS_7D
    out = tmp_path / "out"
    sources = [str(write(tmp_path, "w.yaml", windows)), str(write(tmp_path, "s.yml", SLOTH))]
    assert run(tmp_path, *sources, "--out", str(out)).exit_code == 1
    (service,) = documents(out / "myservice.yaml")
    assert service["slos"][0]["window"] == "7d"
    assert "from the AlertWindows sloPeriod" in (out / "myservice.yaml").read_text()
    loads_and_validates(out)


CORPUS_FREE_WINDOWS_7D = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 7d
  page:
    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}
"""


def test_force_never_writes_through_a_symlink_or_into_a_directory(tmp_path):
    source = write(tmp_path, "p.yaml", PYRRA.split("---")[0])
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    (out / "teams.yaml").symlink_to(outside)
    (out / "shop.yaml").mkdir()
    result = run(tmp_path, str(source), "--out", str(out), "--force")
    assert result.exit_code == 2, result.output
    assert "refusing to write through it" in result.output and "Traceback" not in result.output
    assert outside.read_text() == "keep me\n"


MORE_KINDS = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: native, namespace: shop}
spec:
  target: "99"
  window: 28d
  indicator:
    latencyNative:
      latency: 200ms
      total: {metric: 'rpc_duration_seconds{job="api"}'}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: probe, namespace: shop}
spec:
  target: "99.5"
  window: 7d
  indicator:
    bool_gauge: {metric: 'probe_success{job="blackbox"}'}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: fast-burn}
spec:
  conditions:
    - kind: AlertCondition
      metadata: {name: fast}
      spec:
        severity: page
        condition: {kind: burnrate, op: gt, threshold: 10, lookbackWindow: 1h, alertAfter: 3m}
  notificationTargets: []
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: raw-ratio}
spec:
  service: shop
  indicator:
    metadata: {name: raw}
    spec:
      ratioMetric:
        rawType: success
        raw:
          metricSource:
            type: Prometheus
            spec: {query: 'avg_over_time(success_ratio{job="api"}[5m])'}
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{target: 0.99}]
  alertPolicies: [fast-burn]
"""


def test_latency_native_bool_gauge_raw_and_alert_policies(tmp_path):
    out = tmp_path / "out"
    result = run(tmp_path, str(write(tmp_path, "more.yaml", MORE_KINDS)), "--out", str(out))
    assert result.exit_code == 0, result.output
    loads_and_validates(out)
    slos = {slo["name"]: slo for slo in documents(out / "shop.yaml")[0]["slos"]}
    native = slos["native"]["sli"]["events"]
    assert "histogram_fraction(0, 0.2, rate(rpc_duration_seconds" in native["good"]
    assert native["total"] == 'sum(histogram_count(rate(rpc_duration_seconds{job="api"}[{{.window}}])))'
    assert slos["probe"]["sli"] == {"bool_gauge": {"metric": 'probe_success{job="blackbox"}'}}
    raw = slos["raw-ratio"]
    assert raw["sli"]["raw"]["error_ratio"] == '1 - (avg_over_time(success_ratio{job="api"}[{{.window}}]))'
    # burn rate 10 over 1h of a 30d window = 10 * 1h / 720h of the budget, on the tier whose long window is 1h
    assert raw["alerting"] == {"page-fast": {"budget_share": round(10 / 720, 6), "for": "3m"}}
