"""The low-traffic guard: a handful of bad events never pages, a real outage on a trickle still does.

Rules are rendered from small specs in tmp_path and replayed by real promtool
on the issue's night scenario; the replay model is checked against the guard
at normal traffic (no later detection); bad values are clear errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from generator.model.low_traffic import smallest_page
from generator.model.synthetic import Phase, plan_inputs, synthesize
from generator.output import read_tree
from generator.pipeline import load_model
from generator.spec import SpecErrors
from generator.targets.rule_tests import fastest_page_tier
from generator.targets.rules import render_rules
from generator.tools.promtool_tests import run_rule_test

TEAMS = "apiVersion: sloforge/v1\nkind: Teams\nteams:\n  t:\n    page: {webhook: {url: 'http://127.0.0.1:9/hook'}}\n"
EVENTS_SLI = """\
sli:
  events:
    errors: sum(rate(req_total{job="night",code=~"5.."}[{{.window}}]))
    total: sum(rate(req_total{job="night"}[{{.window}}]))
"""


def _specs(tmp_path: Path, slo_body: str, policy: str = "") -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    (specs / "teams.yaml").write_text(TEAMS)
    body = textwrap.indent(textwrap.dedent(slo_body), "    ").lstrip()
    (specs / "s.yaml").write_text(f"apiVersion: sloforge/v1\nkind: Service\nservice: s\nteam: t\nslos:\n  - {body}")
    if policy:
        (specs / "policy.yaml").write_text("apiVersion: sloforge/v1\nkind: Policy\n" + policy)
    return specs


def _guards(tmp_path: Path, slo_body: str, policy: str = "") -> dict[str, int]:
    model = load_model(_specs(tmp_path, slo_body, policy))
    return {tier.name: tier.min_bad_events for tier in model.slos[0].tiers}


def _alert_exprs(tmp_path: Path, slo_body: str, policy: str = "") -> dict[str, str]:
    model = load_model(_specs(tmp_path, slo_body, policy))
    (text,) = render_rules(model).files.values()
    rules = [rule for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]
    return {
        rule["alert"]: _burn_part(rule["expr"]) for rule in rules if rule.get("alert", "").startswith("SLOBurnRate")
    }


def _burn_part(expr: str) -> str:
    """The burn condition with its guards; the blind-SLI hold follows after `or` (docs/alerting-policy.md)."""
    burn, separator, hold = expr.partition("\nor\n")
    assert separator and "absent(" in hold and "ALERTS{" in hold and ">=" not in hold, expr
    return burn


def test_the_guard_binds_to_the_burn_condition_not_to_the_blind_sli_hold(tmp_path):
    """`and` binds tighter than `or`: a guard after the hold would guard only the hold (a merge once did that)."""
    model = load_model(_specs(tmp_path, "name: a\nobjective: 99.9\n" + EVENTS_SLI))
    (text,) = render_rules(model).files.values()
    fast = next(
        r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if r.get("alert") == "SLOBurnRatePageFast"
    )
    assert fast["expr"].index(">= 5") < fast["expr"].index("\nor\n")


# --- defaults and configuration ---------------------------------------------------------------


def test_default_is_a_floor_per_notify_class_without_expected_rate(tmp_path):
    guards = _guards(tmp_path, "name: a\nobjective: 99.9\n" + EVENTS_SLI)
    assert guards == {"page-fast": 5, "page-slow": 5, "ticket-fast": 3, "ticket-slow": 3}


def test_default_with_expected_rate_is_one_percent_of_the_tiers_budget_in_events(tmp_path):
    # 150 events/s, 99.9% over 30d: page-fast may burn 1.44% x 150/s x 1h = 7776 bad events -> 78;
    # page-slow 0.6% x 150 x 6h = 19440 -> 195; tickets 0.3% x 150 x 1d = 0.1% x 150 x 3d = 38880 -> 389.
    guards = _guards(tmp_path, "name: a\nobjective: 99.9\nexpected_rate: 150\n" + EVENTS_SLI)
    assert guards == {"page-fast": 78, "page-slow": 195, "ticket-fast": 389, "ticket-slow": 389}
    # a low rate never goes below the floor
    low = _guards(tmp_path / "low", "name: a\nobjective: 99.9\nexpected_rate: 0.1\n" + EVENTS_SLI)
    assert low["page-fast"] == 5


def test_policy_and_slo_override_the_guard_and_zero_removes_the_clause(tmp_path):
    body = "name: a\nobjective: 99.9\nalerting: {page-fast: {min_bad_events: 40}}\n" + EVENTS_SLI
    policy = "tiers:\n  page: {min_bad_events: 0}\n  ticket-slow: {min_bad_events: 9}\n"
    assert _guards(tmp_path, body, policy) == {"page-fast": 40, "page-slow": 0, "ticket-fast": 3, "ticket-slow": 9}
    exprs = _alert_exprs(tmp_path, body, policy)
    assert "slo:sli_errors:rate1h{" in exprs["SLOBurnRatePageFast"] and ">= 40" in exprs["SLOBurnRatePageFast"]
    assert "sli_errors" not in exprs["SLOBurnRatePageSlow"]  # 0: today's rule, byte for byte
    assert exprs["SLOBurnRatePageSlow"].count(" and ") == 0 and exprs["SLOBurnRatePageSlow"].count("and ") == 1


def test_guard_is_a_separate_and_clause_counting_events_from_the_recorded_rung(tmp_path):
    exprs = _alert_exprs(tmp_path, "name: a\nobjective: 99.9\n" + EVENTS_SLI)
    short, long, guard = exprs["SLOBurnRatePageFast"].split("and ignoring(slo_window)\n")
    assert "ratio_rate5m" in short and "ratio_rate1h" in long
    assert guard.strip() == '(\n  slo:sli_errors:rate1h{slo_service="s",slo_name="a"} * 3600 >= 5\n)'
    assert "slo:sli_errors:rate6h{" in exprs["SLOBurnRatePageSlow"] and "* 21600 >= 5" in exprs["SLOBurnRatePageSlow"]


def test_raw_ratios_have_no_guard_and_bool_gauges_count_failed_samples_only_when_asked(tmp_path):
    raw = "name: a\nobjective: 99.9\nsli: {raw: {error_ratio: 'avg_over_time(err_ratio[{{.window}}])'}}\n"
    assert set(_guards(tmp_path / "raw", raw).values()) == {0}
    raw_set = raw + "alerting: {page: {min_bad_events: 5}}\n"
    assert set(_guards(tmp_path / "raw2", raw_set).values()) == {0}  # no event count: not applicable
    probe = "name: a\nobjective: 99.9\nsli: {bool_gauge: {metric: 'probe_success{job=\"p\"}'}}\n"
    assert set(_guards(tmp_path / "probe", probe).values()) == {0}
    exprs = _alert_exprs(tmp_path / "probe2", probe + "alerting: {page-fast: {min_bad_events: 3}}\n")
    assert "* 12 >= 3" in exprs["SLOBurnRatePageFast"]  # twelve 5m sample counts per hour


def test_a_window_that_is_no_rung_sums_its_tiles(tmp_path):
    body = "name: a\nobjective: 99.9\nwindow: 28d\n" + EVENTS_SLI  # 3d is no rung under 28d: tiled by 1d
    expr = _alert_exprs(tmp_path, body)["SLOBurnRateTicketSlow"]
    guard = expr.rsplit("and on()", 1)[1]
    assert "slo:sli_errors:rate1d" in guard and "offset 2d" in guard and ") / 3 * 259200 >= 3" in guard


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-1", "greater than or equal to 0"),
        ("five", "valid integer"),
        ("true", "valid integer"),
        ("1.5", "valid integer"),
    ],
)
def test_bad_min_bad_events_is_a_clear_error_and_nothing_is_written(tmp_path, value, fragment):
    specs = _specs(
        tmp_path, f"name: a\nobjective: 99.9\nalerting: {{page-fast: {{min_bad_events: {value}}}}}\n" + EVENTS_SLI
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous\n")
    before = read_tree(out)
    result = subprocess.run(
        [sys.executable, "-m", "generator", "render", "--specs", str(specs), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "s.yaml:8:" in result.stderr and fragment in result.stderr, result.stderr
    assert read_tree(out) == before
    with pytest.raises(SpecErrors):
        load_model(specs)


# --- explain ------------------------------------------------------------------------------------


def test_smallest_page_at_the_expected_rate(tmp_path):
    model = load_model(_specs(tmp_path, "name: a\nobjective: 99.9\nexpected_rate: 0.01\n" + EVENTS_SLI))
    slo = model.slos[0]
    fast = smallest_page(slo, next(tier for tier in slo.tiers if tier.name == "page-fast"))
    # 1.44% x 0.01/s x 1h = 0.52 bad events: the guard (5) decides; a full outage needs 500s to collect them
    assert fast is not None and fast.guard_decides and fast.bad_events == 5
    assert fast.outage_seconds == 500 and not fast.blind  # 36 events per hour: 5 failures fit
    quiet = load_model(_specs(tmp_path / "quiet", "name: a\nobjective: 99.9\nexpected_rate: 0.001\n" + EVENTS_SLI))
    slo = quiet.slos[0]
    fast = smallest_page(slo, next(tier for tier in slo.tiers if tier.name == "page-fast"))
    assert fast is not None and fast.blind  # 3.6 events per hour: page-fast can never collect 5


# --- the night scenario, replayed by promtool -----------------------------------------

NIGHT_BODY = "name: a\nobjective: 99.9\nexpected_rate: 150\n" + EVENTS_SLI


def _night_inputs(errors_at_night: list[int], outage: bool = False) -> list[dict]:
    """1m samples: 2h busy (150/s), traffic ramps to zero over 30m, 2h without traffic, then 6 requests/min.

    `errors_at_night`: the minutes (after the trickle starts) with one failed request; `outage`: every
    request fails from the trickle's 10th minute on.
    """
    totals, errors = [0], [0]
    for minute in range(1, 9 * 60):
        if minute <= 120:
            rate = 9000
        elif minute <= 150:
            rate = 9000 * (150 - minute) // 30
        elif minute <= 270:
            rate = 0
        else:
            rate = 6
        bad = 0
        if minute > 270:
            bad = 6 if outage and minute - 270 >= 10 else int(minute - 270 in errors_at_night)
        totals.append(totals[-1] + rate)
        errors.append(errors[-1] + bad)
    values = lambda xs: " ".join(str(x) for x in xs)  # noqa: E731
    return [
        {"series": 'req_total{job="night",code="500"}', "values": values(errors)},
        {
            "series": 'req_total{job="night",code="200"}',
            "values": values([t - e for t, e in zip(totals, errors, strict=True)]),
        },
    ]


def _promtool_pages(tmp_path: Path, body: str, inputs: list[dict]) -> dict[str, bool]:
    """Whether each page tier was ever firing over the nine hours, asked of promtool (expected: never)."""
    model = load_model(_specs(tmp_path, body))
    ((path, text),) = render_rules(model).files.items()
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    fired = {}
    for alert in ("SLOBurnRatePageFast", "SLOBurnRatePageSlow"):
        test = {
            "rule_files": [str(rules)],
            "evaluation_interval": "1m",
            "tests": [
                {
                    "interval": "1m",
                    "input_series": inputs,
                    "promql_expr_test": [
                        {
                            "expr": f'count_over_time(ALERTS{{alertname="{alert}",alertstate="firing"}}[9h])',
                            "eval_time": "9h",
                            "exp_samples": [],
                        }
                    ],
                }
            ],
        }
        test_file = tmp_path / f"{alert}.test.yaml"
        test_file.write_text(yaml.safe_dump(test))
        result = run_rule_test(test_file)
        assert result.ok or "FAILED" in result.output, result.output
        fired[alert] = not result.ok
    return fired


def test_night_handful_of_errors_pages_without_the_guard_and_not_with_it(tmp_path, promtool):
    """8 failed requests in 2h at 6 requests/min (0.002% of the month's budget at 150/s), clustered in 10 minutes."""
    inputs = _night_inputs([3, 4, 5, 6, 7, 8, 9, 10])
    guard_free = "alerting: {page: {min_bad_events: 0}}\n"
    before = _promtool_pages(tmp_path / "before", NIGHT_BODY + guard_free, inputs)
    assert before["SLOBurnRatePageFast"], (
        before
    )  # the hour holds little besides the trickle: 8 errors are far above 1.44%
    after = _promtool_pages(tmp_path / "after", NIGHT_BODY, inputs)
    assert after == {"SLOBurnRatePageFast": False, "SLOBurnRatePageSlow": False}


def test_night_real_outage_still_pages(tmp_path, promtool):
    """Every request fails from 22:10 on at 6 requests/min: page-fast's guard (78) is met after 13 minutes."""
    pages = _promtool_pages(tmp_path, NIGHT_BODY, _night_inputs([], outage=True))
    assert pages["SLOBurnRatePageFast"]


# --- normal traffic: no later than before -------------------------------------------------------


def test_guard_does_not_delay_detection_at_normal_traffic(example_model):
    """The model's first firing evaluation for a full outage and at 1.25x the threshold, with and without the guard."""
    step = example_model.settings.evaluation_interval.millis
    compared = 0
    for slo in example_model.slos:
        plan = plan_inputs(slo, step)
        for tier in slo.tiers:
            if not tier.min_bad_events or tier.threshold >= 1:
                continue
            for ratio in (Fraction(1), min(Fraction(1), Fraction(str(tier.threshold)) * Fraction(5, 4))):
                synthesis = synthesize(plan, [ratio], Fraction(1, 100))
                start = tier.long_window.millis
                phases = (Phase(0, Fraction(0)), Phase(start, synthesis.quantize(ratio)))
                evaluation = synthesis.evaluation(phases, step, start + 2 * tier.long_window.millis)
                times = [
                    next((s.firing_ms for s in evaluation.tier_spans(slo, t, near_ties=False) if s.firing_ms), None)
                    for t in (tier, replace(tier, min_bad_events=0))
                ]
                assert times[0] is not None and times[0] == times[1], (slo.key, tier.name, ratio, times)
                compared += 1
    assert compared >= 4


def test_example_services_have_generated_low_traffic_tests(example_model, rendered_dir):
    names = []
    for path in sorted((rendered_dir / "prometheus" / "tests").glob("checkout*.test.yaml")):
        names += [group["name"] for group in yaml.safe_load(path.read_text())["tests"]]
    tier = fastest_page_tier(next(slo for slo in example_model.slos if slo.key == "checkout/availability"))
    assert any(n.startswith(f"checkout {tier.name} low traffic") and "no page" in n for n in names), names
    assert any(n.startswith(f"checkout {tier.name} low traffic") and "pages once" in n for n in names), names
    assert Decimal(tier.min_bad_events) > 5  # derived from expected_rate


def test_explain_shows_the_guard_and_the_smallest_incident_and_warns_when_a_tier_is_blind(tmp_path):
    from click.testing import CliRunner

    from generator.cli import main

    specs = _specs(tmp_path, "name: a\nobjective: 99.9\nexpected_rate: 0.001\n" + EVENTS_SLI)
    result = CliRunner().invoke(main, ["explain", "--specs", str(specs), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    tiers = {tier["tier"]: tier for tier in data["slos"][0]["tiers"]}
    assert tiers["page-fast"]["min_bad_events"] == 5 and tiers["page-fast"]["blind_at_expected_rate"] is True
    # page-slow: 6h x 0.001/s = 21.6 events; 5 bad events are a 5000s full outage
    assert tiers["page-slow"]["smallest_incident_bad_events"] == "5"
    assert tiers["page-slow"]["smallest_incident_full_outage_seconds"] == 5000
    warnings = data["slos"][0]["warnings"]
    assert any("page-fast is blind" in w and "3.6 events" in w for w in warnings), warnings
    assert any("page-slow" in w and "5 bad events in 6h" in w for w in warnings), warnings
    table = CliRunner().invoke(main, ["explain", "--specs", str(specs)], terminal_width=120)
    assert "min bad events" in table.output and "never (blind)" in table.output


def test_explain_says_the_guard_does_not_apply_to_raw_ratios(tmp_path):
    from click.testing import CliRunner

    from generator.cli import main

    raw = "name: a\nobjective: 99.9\nsli: {raw: {error_ratio: 'avg_over_time(err_ratio[{{.window}}])'}}\n"
    result = CliRunner().invoke(main, ["explain", "--specs", str(_specs(tmp_path, raw))], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "n/a (raw)" in result.output


# --- min_total_events: too few events is no signal ----------------------------------------------


def test_min_total_events_is_an_and_clause_on_every_tier_and_absent_for_raw(tmp_path):
    exprs = _alert_exprs(tmp_path, "name: a\nobjective: 99.9\nmin_total_events: 100\n" + EVENTS_SLI)
    assert all("slo:sli_total:rate" in expr and ">= 100" in expr for expr in exprs.values()), exprs
    assert 'slo:sli_total:rate1h{slo_service="s",slo_name="a"} * 3600 >= 100' in exprs["SLOBurnRatePageFast"]
    raw = (
        "name: a\nobjective: 99.9\nmin_total_events: 100\nsli: {raw: {error_ratio: 'avg_over_time(r[{{.window}}])'}}\n"
    )
    assert not any("sli_total:rate" in expr for expr in _alert_exprs(tmp_path / "raw", raw).values())


def test_min_total_events_silences_an_outage_on_a_trickle(tmp_path, promtool):
    """The trade-off: 6 requests/min never make 1000 per hour, so even a real night outage is no signal."""
    inputs = _night_inputs([], outage=True)
    assert _promtool_pages(tmp_path / "on", NIGHT_BODY, inputs)["SLOBurnRatePageFast"]
    quiet = _promtool_pages(tmp_path / "off", NIGHT_BODY + "min_total_events: 1000\n", inputs)
    assert not quiet["SLOBurnRatePageFast"]


def test_generated_tests_agree_with_promtool_when_min_total_events_is_set(tmp_path, promtool):
    from generator.output import write_tree
    from generator.targets import render_all
    from generator.tools.promtool_tests import run_rule_tests

    model = load_model(_specs(tmp_path, "name: a\nobjective: 99.9\nmin_total_events: 1000\n" + EVENTS_SLI))
    out = tmp_path / "out"
    write_tree(render_all(model), out)
    results = run_rule_tests(out)
    assert results and all(result.ok for result in results), [r.output for r in results if not r.ok]
