"""The rules renderer: output contract, cost shape, determinism, and behaviour under promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from generator.model.counter_reads import resets_range
from generator.spec.promql import vector_selectors
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.rules import rules_path, windows_of


def rule_groups(rendered_dir: Path, service: str) -> list[dict]:
    return yaml.safe_load((rendered_dir / rules_path(service)).read_text())["groups"]


def test_one_group_per_slo_recordings_before_alerts(example_model, rendered_dir):
    for service in example_model.services:
        groups = rule_groups(rendered_dir, service.name)
        assert [g["name"] for g in groups] == [f"sloforge-{service.name}-{slo.name}" for slo in service.slos]
        for group in groups:
            kinds = ["record" if "record" in rule else "alert" for rule in group["rules"]]
            assert kinds == sorted(kinds, key=lambda kind: kind == "alert"), group["name"]


def test_every_window_is_recorded_with_identity_labels(example_model, rendered_dir):
    for slo in example_model.slos:
        group = next(g for g in rule_groups(rendered_dir, slo.service) if g["name"].endswith(f"-{slo.name}"))
        recorded = {(r["record"], r["labels"][L.WINDOW]) for r in group["rules"] if "record" in r}
        for window in windows_of(slo):
            assert (L.error_ratio_series(window.text), window.text) in recorded
        assert (L.error_ratio_series(slo.window.text), slo.window.text) in recorded
        for rule in group["rules"]:
            if "record" in rule:
                assert rule["labels"][L.SERVICE] == slo.service and rule["labels"][L.SLO] == slo.name
        for name in (L.OBJECTIVE, L.ERROR_BUDGET, L.BUDGET_REMAINING, L.INFO):
            assert any(r.get("record") == name for r in group["rules"]), name


def test_raw_series_are_read_only_over_the_shortest_window(example_model, rendered_dir):
    """Long windows must come from recorded series, never rate(raw[3d])."""
    for slo in example_model.slos:
        shortest = windows_of(slo)[0].text
        group = next(g for g in rule_groups(rendered_dir, slo.service) if g["name"].endswith(f"-{slo.name}"))
        for rule in group["rules"]:
            raw = {name for name, _ in vector_selectors(rule["expr"]) if not name.startswith("slo:")} - {"ALERTS"}
            if raw:
                assert rule.get("record") in (f"{L.ERRORS_RATE}{shortest}", f"{L.TOTAL_RATE}{shortest}"), rule
                ranges = {part.split("]")[0] for part in rule["expr"].split("[")[1:]}
                # the exact counter reads look for resets a little further back (model.counter_reads)
                assert ranges <= {shortest, resets_range(windows_of(slo)[0].millis)}, rule["expr"]


def test_the_errors_rule_reads_raw_series_only_and_the_exact_total_at_most_once(example_model, rendered_dir):
    """Where there is traffic (`or 0 * total`) is read with the spec's plain `rate`, not a second exact read; never
    from the recorded total, whose pre-restart value a lookup still finds (test_gaps: a false page)."""
    for slo in example_model.slos:
        base = windows_of(slo)[0].text
        group = next(g for g in rule_groups(rendered_dir, slo.service) if g["name"].endswith(f"-{slo.name}"))
        by_record = {rule.get("record"): rule["expr"] for rule in group["rules"]}
        errors, total = by_record[f"{L.ERRORS_RATE}{base}"], by_record[f"{L.TOTAL_RATE}{base}"]
        if all(name.startswith("slo:") for name, _ in vector_selectors(total)):
            continue  # a raw ratio: its total is one per evaluation
        assert not any(name.startswith("slo:") for name, _ in vector_selectors(errors)), errors
        if " offset " in total:  # the exact read: once as the minuend of `total - good`, else not at all
            assert errors.count(total) == (0 if getattr(slo.sli, "errors", None) else 1), errors


def test_alert_contract(example_model, rendered_dir):
    for slo in example_model.slos:
        group = next(g for g in rule_groups(rendered_dir, slo.service) if g["name"].endswith(f"-{slo.name}"))
        alerts = [r for r in group["rules"] if "alert" in r]
        freezes = [L.BUDGET_FREEZE_ALERT] * sum(stage.freeze for stage in slo.budget_stages)
        assert [a["alert"] for a in alerts] == [t.alert_name for t in slo.tiers] + [L.MISSING_SLI_ALERT] + freezes
        for alert, tier in zip(alerts, slo.tiers, strict=False):
            assert alert["labels"][L.SEVERITY] == tier.severity
            assert alert["labels"][L.TIER] == tier.name
            assert alert["labels"][L.TEAM] == slo.team
            assert dict(slo.labels).items() <= alert["labels"].items()
            burn, _, latch = alert["expr"].partition("\nor\n")
            assert "rate(" not in burn and "increase(" not in burn  # reads recorded series only, never raw ones
            # the blind latch reads only the alert's own ALERTS series and the recorded total
            assert {name for name, _ in vector_selectors(latch)} == {"ALERTS", f"{L.TOTAL_RATE}{windows_of(slo)[0]}"}
            assert L.error_ratio_series(tier.short_window.text) in alert["expr"]
            assert L.error_ratio_series(tier.long_window.text) in alert["expr"]
        for alert in alerts:
            assert {"summary", "description", "runbook_url", "dashboard_url"} <= set(alert["annotations"])
        for alert in alerts[: len(slo.tiers)]:
            assert alert["annotations"]["burn_rate"] == "{{ $value | humanize }}"


def test_user_prose_is_not_executed_as_a_template(example_model):
    from dataclasses import replace

    from generator.model.slo import Settings
    from generator.targets.rules import alert_rule

    slo = replace(example_model.slos[0], description="costs {{ 1 }} dollars")
    rule = alert_rule(slo, slo.tiers[0], Settings())
    assert '{{ "{{" }} 1 }}' in rule["annotations"]["description"]


def test_render_is_deterministic(example_model):
    assert render_all(example_model) == render_all(example_model)


def test_promtool_accepts_every_rule_file(rendered_dir, promtool):
    files = sorted((rendered_dir / "prometheus" / "rules").glob("*.yaml"))
    assert files
    for path in files:
        result = subprocess.run(
            [promtool, "check", "rules", "--lint=all", "--lint-fatal", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


# Traffic weighting and zero traffic, checked by promtool on the real checkout rules.
# Hour 1: 600 req/min with 10% errors. Hour 2: 60 req/min, no errors. Hour 3: no traffic.
# Traffic-weighted 2h ratio at 120m = 3600 / 39600 = 0.0909; an average of 5m ratios would give 0.05.
WEIGHTING_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{{job="checkout",code="200"}}'
        values: '0+540x60 32400+60x60 36000+0x60'
      - series: 'http_requests_total{{job="checkout",code="500"}}'
        values: '0+60x60 3600+0x120'
      - series: 'http_request_duration_seconds_count{{job="checkout"}}'
        values: '0+0x180'
    promql_expr_test:
      - expr: abs(slo:sli_error:ratio_rate2h{{slo_name="availability"}} - 0.0909) < bool 0.004
        eval_time: 120m
        exp_samples:
          - labels: '{{slo_service="checkout",slo_name="availability",slo_window="2h"}}'
            value: 1
      - expr: abs(slo:sli_error:ratio_rate1h{{slo_name="availability"}} - 0.1) < bool 0.001
        eval_time: 60m
        exp_samples:
          - labels: '{{slo_service="checkout",slo_name="availability",slo_window="1h"}}'
            value: 1
      # zero traffic: the short ratio is absent, not NaN; long windows stay finite
      - expr: slo:sli_error:ratio_rate5m{{slo_name="availability"}}
        eval_time: 180m
        exp_samples: []
      - expr: count(slo:sli_error:ratio_rate2h{{slo_name="availability"}} != slo:sli_error:ratio_rate2h{{slo_name="availability"}})
        eval_time: 180m
        exp_samples: []
      - expr: slo:sli_error:ratio_rate2h{{slo_name="availability"}} < bool 0.05
        eval_time: 180m
        exp_samples:
          - labels: '{{slo_service="checkout",slo_name="availability",slo_window="2h"}}'
            value: 1
    alert_rule_test:
      - alertname: SLOBurnRatePageFast
        eval_time: 180m
        exp_alerts: []
      - alertname: SLOSLIMissing
        eval_time: 180m
        exp_alerts: []
  - interval: 1m
    input_series:
      - series: 'unrelated_metric'
        values: '1+0x30'
    alert_rule_test:
      - alertname: SLOSLIMissing
        eval_time: 10m
        exp_alerts: []
      - alertname: SLOSLIMissing
        eval_time: 20m
        exp_alerts:
{missing_alerts}
"""


@pytest.fixture
def weighting_test(rendered_dir: Path, tmp_path: Path) -> Path:
    rules = rendered_dir / rules_path("checkout")
    missing = [
        {"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}
        for group in rule_groups(rendered_dir, "checkout")
        for rule in group["rules"]
        if rule.get("alert") == L.MISSING_SLI_ALERT
    ]
    assert len(missing) == 2  # availability and latency: no series at all for either
    alerts = yaml.safe_dump(missing, default_flow_style=False, width=10_000)
    text = WEIGHTING_TEST.format(
        rules=rules, missing_alerts="\n".join("          " + line for line in alerts.splitlines())
    )
    path = tmp_path / "weighting.test.yaml"
    path.write_text(text)
    return path


def test_long_windows_are_traffic_weighted_and_survive_zero_traffic(weighting_test: Path, promtool):
    result = subprocess.run([promtool, "test", "rules", str(weighting_test)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_weighting_test_can_fail(weighting_test: Path, promtool):
    """Expecting the average of ratios (0.05) instead of the weighted 0.0909 must fail."""
    weighting_test.write_text(weighting_test.read_text().replace("- 0.0909) < bool 0.004", "- 0.05) < bool 0.004"))
    result = subprocess.run([promtool, "test", "rules", str(weighting_test)], capture_output=True, text=True)
    assert result.returncode != 0
