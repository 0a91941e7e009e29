"""Generated promtool rule tests: complete, passing, deterministic, and able to fail.

promtool is the authority here: the generated tests must pass on a fresh
render, and must fail once a rendered rule is mutated (factor, short window,
long window, traffic weighting) in a temp copy.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from fixture_paths import TEAMS

from generator.model.synthetic import (
    Phase,
    matcher_holds,
    plan_inputs,
    regex_examples,
    selector_matches,
    sli_selectors,
    solve_labels,
    synthesize,
)
from generator.model.workbook import detection_seconds
from generator.output import write_tree
from generator.pipeline import load_model
from generator.spec.promql import substitute_window, vector_selectors
from generator.targets import render_all
from generator.targets.alert_text import expand, humanize
from generator.targets.rule_tests import (
    TESTS_DIR,
    fastest_page_tier,
    render_rule_tests,
    rule_tests,
    service_tests,
)
from generator.tools.promtool_tests import rule_test_files, run_rule_test, run_rule_tests
from generator.units.numbers import format_number


def _groups(rendered: Path, service: str) -> list[dict]:
    groups = []
    for path in sorted((rendered / TESTS_DIR).glob(f"{service}.*test.yaml")):
        groups += yaml.safe_load(path.read_text())["tests"]
    return groups


def _alertnames_tested(groups: list[dict]) -> set[str]:
    return {test["alertname"] for group in groups for test in group.get("alert_rule_test", [])}


def test_every_slo_and_enabled_tier_has_generated_tests(example_model, rendered_dir):
    assert render_rule_tests(example_model).warnings == ()
    for service in example_model.services:
        groups = _groups(rendered_dir, service.name)
        names = [group["name"] for group in groups]
        assert any("no data" in name for name in names)
        assert any("recorded error ratios" in name for name in names)
        for slo in service.slos:
            for tier in slo.tiers:
                fires = [n for n in names if n.startswith(f"{service.name} {tier.name}: fires") and slo.name in n]
                silent = [n for n in names if n.startswith(f"{service.name} {tier.name}: silent") and slo.name in n]
                assert fires and silent, (slo.key, tier.name, names)
            outage = fastest_page_tier(slo)
            assert any(f"full outage: {outage.name}" in n and slo.name in n for n in names), slo.key
        assert {tier.alert_name for slo in service.slos for tier in slo.tiers} <= _alertnames_tested(groups)


def test_generated_tests_pass_promtool(rendered_dir, promtool):
    results = run_rule_tests(rendered_dir)
    assert len(results) == len(rule_test_files(rendered_dir)) >= 4
    failed = [f"{result.what}\n{result.output}" for result in results if not result.ok]
    assert not failed, "\n\n".join(failed)


def test_render_is_byte_identical(example_model):
    first = rule_tests(example_model)  # each call is a render of its own, with its own memo
    assert rule_tests(example_model) == first
    assert render_rule_tests(example_model).files == dict(first.files)
    assert render_rule_tests(example_model).warnings == first.warnings


def test_test_files_reference_the_rules_relative_to_themselves(rendered_dir):
    for path in rule_test_files(rendered_dir):
        document = yaml.safe_load(path.read_text())
        (rule_file,) = document["rule_files"]
        assert (path.parent / rule_file).resolve().is_file()
        assert path.name.split(".")[0] == Path(rule_file).stem


# --- mutations: the tests must fail when a rule is wrong -----------------------------------------


def _mutated_copy(rendered: Path, tmp_path: Path, service: str, alert: str, change) -> Path:
    copy = tmp_path / "rendered"
    shutil.copytree(rendered, copy)
    rules_file = copy / "prometheus" / "rules" / f"{service}.yaml"
    document = yaml.safe_load(rules_file.read_text())
    changed = 0
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert or rule.get("record") == alert:
                before = rule["expr"]
                rule["expr"] = change(before)
                changed += rule["expr"] != before
    assert changed, f"mutation did not apply to {alert}"
    rules_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


def _double_factor(expr: str) -> str:
    return re.sub(r"> (\d+(?:\.\d+)?)", lambda m: f"> {format_number(Decimal(m.group(1)) * 2)}", expr)


def _drop_short_window(expr: str) -> str:
    return expr.split("and ignoring(slo_window)")[1].strip()


def _longer_long_window(expr: str) -> str:
    short, long = expr.split("and ignoring(slo_window)", 1)
    return short + "and ignoring(slo_window)" + long.replace("ratio_rate1h", "ratio_rate6h")


def _drop_guard(expr: str) -> str:
    """The low-traffic guard is the last `and` clause, on the recorded errors rate."""
    head, guard = expr.rsplit("\nand ", 1)
    assert "sli_errors" in guard
    return head


MUTATIONS = {
    "factor doubled": ("checkout", "SLOBurnRatePageFast", _double_factor, "checkout.test.yaml"),
    "short window removed": ("checkout", "SLOBurnRatePageFast", _drop_short_window, "checkout.test.yaml"),
    "long window 1h -> 6h": ("checkout", "SLOBurnRatePageFast", _longer_long_window, "checkout.test.yaml"),
    "low-traffic guard removed": ("checkout", "SLOBurnRatePageFast", _drop_guard, "checkout.test.yaml"),
    "ticket factor doubled": ("checkout", "SLOBurnRateTicketFast", _double_factor, "checkout.1h.test.yaml"),
    "bool gauge factor doubled": (
        "storefront-probe",
        "SLOBurnRatePageFast",
        _double_factor,
        "storefront-probe.test.yaml",
    ),
    "raw ratio short window removed": (
        "feature-pipeline",
        "SLOBurnRatePageFast",
        _drop_short_window,
        "feature-pipeline.test.yaml",
    ),
    "1d window not traffic-weighted": (
        "checkout",
        "slo:sli_error:ratio_rate1d",
        lambda expr: 'avg_over_time(slo:sli_error:ratio_rate5m{slo_service="checkout",slo_name="availability"}[1d])',
        "checkout.1d.test.yaml",
    ),
    "1h window smeared (sum_over_time of the 5m rates)": (
        "checkout",
        "slo:sli_error:ratio_rate1h",
        lambda expr: (
            'sum_over_time(slo:sli_errors:rate5m{slo_service="checkout",slo_name="availability"}[1h]) / '
            'sum_over_time(slo:sli_total:rate5m{slo_service="checkout",slo_name="availability"}[1h])'
        ),
        "checkout.test.yaml",
    ),
    "30d window loses its oldest error tile": (
        "checkout",
        "slo:sli_error:ratio_rate30d",
        lambda expr: "\n".join(line for line in expr.split("\n") if not ("errors:rate3d" in line and "27d" in line)),
        "checkout.1d.test.yaml",
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_rules_fail_the_generated_tests(mutation, rendered_dir, tmp_path, promtool):
    service, alert, change, test_file = MUTATIONS[mutation]
    original = run_rule_test(rendered_dir / TESTS_DIR / test_file)
    assert original.ok, original.output
    copy = _mutated_copy(rendered_dir, tmp_path, service, alert, change)
    result = run_rule_test(copy / TESTS_DIR / test_file)
    assert not result.ok, f"{mutation}: promtool still passes"
    assert "FAILED" in result.output
    if alert.startswith("SLO"):
        assert alert in result.output or "ALERTS" in result.output


# --- input synthesis ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern", ["5..", "2..|5..", "[a-z]+", "(GET|POST)", "foo.*bar", r"\d{3}", "[^5].*", "api-(v1|v2)/.+", "x?"]
)
def test_regex_examples_fully_match(pattern):
    examples = regex_examples(pattern)
    assert examples
    assert all(re.fullmatch(pattern, example) for example in examples)


@pytest.mark.parametrize(
    "matchers",
    [
        [("code", "=~", "5.."), ("job", "=", "checkout")],
        [("code", "!~", "5.."), ("job", "=", "checkout")],
        [("code", "=~", "2..|5.."), ("code", "!~", "5..")],
        [("outcome", "!=", "success"), ("job", "=~", "ml-.*")],
        [("env", "!~", ".+")],
    ],
)
def test_solved_labels_satisfy_every_matcher(matchers):
    labels = solve_labels(matchers)
    assert labels is not None
    assert all(matcher_holds(labels.get(label, ""), op, value) for label, op, value in matchers)


def test_contradictory_matchers_have_no_solution():
    assert solve_labels([("code", "=", "500"), ("code", "!~", "5..")]) is None


def test_synthetic_series_feed_their_own_sli_and_split_errors_from_the_rest(example_model):
    for slo in example_model.slos:
        plan = plan_inputs(slo, example_model.settings.evaluation_interval.millis)
        selectors = sli_selectors(slo)
        for series in plan.series:
            assert any(selector_matches(series.metric, series.label_dict(), sel) for sel in selectors), series.text()
        if slo.sli.kind == "events" and len({series.metric for series in plan.series}) == 1:
            part = vector_selectors(substitute_window(slo.sli.errors or slo.sli.good or "", "5m"))[0]
            matched = [selector_matches(s.metric, s.label_dict(), part) for s in plan.series]
            assert sorted(matched) == [False, True], slo.key


def _spec(tmp_path: Path, body: str) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(TEAMS, specs / "teams.yaml")
    (specs / "svc.yaml").write_text(body)
    return specs


TWO_SLOS = """
apiVersion: sloforge/v1
kind: Service
service: svc
team: payments
slos:
  - name: good
    objective: 99.9
    sli:
      events:
        errors: sum(rate(requests_total{job="svc",code=~"5.."}[{{.window}}]))
        total: sum(rate(requests_total{job="svc"}[{{.window}}]))
  - name: odd
    objective: 99
    sli:
      events:
        errors: sum(rate(a_total{job="svc"}[{{.window}}])) + sum(rate(b_total{job="svc"}[{{.window}}]))
        total: sum(rate(c_total{job="svc"}[{{.window}}]))
"""


def test_unsupported_shape_warns_and_skips_only_that_slo(tmp_path, promtool):
    model = load_model(_spec(tmp_path, TWO_SLOS))
    warnings = render_rule_tests(model).warnings
    assert [warning.slo for warning in warnings] == ["svc/odd"]
    assert "no rule tests generated" in warnings[0].message
    out = tmp_path / "out"
    write_tree(render_all(model), out)
    text = "\n".join(path.read_text() for path in rule_test_files(out))
    assert "requests_total" in text and "a_total" not in text
    assert "odd at " not in text and "good at " in text
    failed = [result.output for result in run_rule_tests(out) if not result.ok]
    assert not failed, failed


def test_render_prints_the_warnings_of_the_tests_it_wrote_and_strict_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from generator.cli import main

    specs, out = _spec(tmp_path, TWO_SLOS), tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("no rule tests generated") == 1 and "svc/odd" in result.output
    strict = CliRunner().invoke(main, ["render", "--strict", "--specs", str(specs), "--out", str(tmp_path / "strict")])
    assert strict.exit_code == 2 and "no rule tests generated" in strict.output
    assert not (tmp_path / "strict").exists()


OVERLAP = """
apiVersion: sloforge/v1
kind: Service
service: svc
team: payments
slos:
  - name: all
    objective: 99.9
    sli:
      events:
        errors: sum(rate(requests_total{job="svc",code=~"5.."}[{{.window}}]))
        total: sum(rate(requests_total{job="svc"}[{{.window}}]))
  - name: checkout-path
    objective: 99.9
    sli:
      events:
        errors: sum(rate(requests_total{job="svc",path="/pay",code=~"5.."}[{{.window}}]))
        total: sum(rate(requests_total{job="svc",path="/pay"}[{{.window}}]))
"""


def test_slo_whose_inputs_would_feed_another_is_tested_in_groups_of_its_own(tmp_path):
    """Not silently mixed: checkout-path's series are read by `all` too, so they never share a group."""
    model = load_model(_spec(tmp_path, OVERLAP))
    assert render_rule_tests(model).warnings == ()
    groups = [
        group
        for path, text in service_tests(model.services[0], model.settings).files
        for group in yaml.safe_load(text)["tests"]
    ]
    own = [group for group in groups if "checkout-path at " in group["name"] or "checkout-path within" in group["name"]]
    assert own and all("its series are also read by svc/all" in group["name"] for group in own)
    assert all("all at " not in group["name"] and "alert_rule_test" not in group for group in own)
    assert any("all at " in group["name"] and "alert_rule_test" in group for group in groups)


# --- the model the expectations come from --------------------------------------------------------


def test_full_outage_detection_is_the_workbook_time_plus_for_and_the_rate_window(example_model):
    """The model's first firing evaluation vs the Workbook formula: only `for`, the raw window and a step apart."""
    step = example_model.settings.evaluation_interval.millis
    for slo in example_model.slos:
        tier = fastest_page_tier(slo)
        plan = plan_inputs(slo, step)
        synthesis = synthesize(plan, [Fraction(1)], Fraction(1, 10_000))
        start = tier.long_window.millis
        phases = (Phase(0, Fraction(0)), Phase(start, synthesis.quantize(Fraction(1))))
        evaluation = synthesis.evaluation(phases, step, start + 2 * tier.long_window.millis)
        fired = next(span.firing_ms for span in evaluation.tier_spans(slo, tier) if span.firing_ms is not None)
        workbook_ms = detection_seconds(tier, slo.error_budget, Decimal(1)) * 1000
        assert fired - start >= workbook_ms + tier.for_.millis - step, slo.key
        assert fired - start <= workbook_ms + tier.for_.millis + plan.raw_ms + step, slo.key


def test_recorded_long_window_ratio_is_traffic_weighted_in_the_model(example_model):
    """A quiet hour at 10% errors and a busy hour at 0%: weighted 2.5%, a plain time average would say 5%."""
    slo = next(slo for slo in example_model.slos if slo.key == "checkout/availability")
    plan = plan_inputs(slo, 60_000)
    synthesis = synthesize(plan, [Fraction(1, 10)], Fraction(1, 100))
    ratio = synthesis.quantize(Fraction(1, 10))
    phases = (Phase(0, ratio), Phase(3_600_000, Fraction(0), traffic=3))
    evaluation = synthesis.evaluation(phases, 60_000, 2 * 3_600_000)
    two_hours = evaluation.ratio(120, 2 * 3_600_000)
    assert abs(two_hours - ratio / 4) < ratio / 20


def test_humanize_matches_prometheus_templates(tmp_path, promtool):
    """Our expansion of annotation templates against promtool's own, for values around every boundary."""
    values = [0, 0.000123, 0.5, 1, 18.000000000000004, 999.9999, 1000, 1234.5, 1e6, 16.875, 2.5e-7, -3.2]
    template = (
        "{{ $value | humanize }} {{ $value | humanizePercentage }} {{ humanize1024 $value }} "
        '{{ $value | humanizeDuration }} {{ $value }} {{ $labels.job }} [{{ $labels.missing }}] {{ "{{" }}'
    )
    rules, tests = [], []
    for index, value in enumerate(values):
        name = f"Value{index}"
        rules.append(
            {
                "alert": name,
                "expr": f'label_replace(vector({value!r}), "job", "x", "", "")',
                "annotations": {"text": template},
            }
        )
        expected = expand(template, float(value), {"job": "x"})
        tests.append(
            {
                "eval_time": "1m",
                "alertname": name,
                "exp_alerts": [{"exp_labels": {"job": "x"}, "exp_annotations": {"text": expected}}],
            }
        )
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    (tmp_path / "t.test.yaml").write_text(
        yaml.safe_dump(
            {"rule_files": ["rules.yaml"], "tests": [{"interval": "1m", "input_series": [], "alert_rule_test": tests}]}
        )
    )
    result = run_rule_test(tmp_path / "t.test.yaml")
    assert result.ok, result.output
    assert humanize(1000.0) == "1k" and humanize(999.9999) == "1000"


OTHER_SHAPES = """
apiVersion: sloforge/v1
kind: Service
service: shapes
team: payments
slos:
  - name: good-events
    objective: 99.9
    window: 7d
    alerting: {ticket: {enabled: false}}
    sli:
      events:
        good: sum(rate(edge_requests_total{job="edge",code!~"5..|429"}[{{.window}}]))
        total: sum(rate(edge_requests_total{job="edge"}[{{.window}}]))
  - name: two-counters
    objective: 99
    window: 7d
    alerting: {ticket: {enabled: false}}
    sli:
      events:
        errors: sum(increase(jobs_failed_total{queue=~"high|low"}[{{.window}}]))
        total: sum(increase(jobs_started_total{queue=~"high|low"}[{{.window}}]))
  - name: ratio-gauge
    objective: 95
    window: 1d
    alerting: {ticket: {enabled: false}}
    sli:
      raw:
        error_ratio: max(avg_over_time(edge_error_ratio{job="edge"}[{{.window}}]))
"""


def test_other_sli_shapes_get_tests_that_pass(tmp_path, promtool):
    """good/total with a negative regex, increase() on two metrics, a ratio gauge averaged over the window."""
    model = load_model(_spec(tmp_path, OTHER_SHAPES))
    assert render_rule_tests(model).warnings == ()
    out = tmp_path / "out"
    write_tree(render_all(model), out)
    text = "\n".join(path.read_text() for path in rule_test_files(out))
    for name in ("good-events", "two-counters", "ratio-gauge"):
        assert f"{name} at " in text
    failed = [f"{result.what}\n{result.output}" for result in run_rule_tests(out) if not result.ok]
    assert not failed, "\n\n".join(failed)
