"""`sloforge simulate`: scenarios through an SLO's real rules, predicted by the model, confirmed by promtool."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.model.workbook import detection_seconds
from generator.tools import simulate as sim
from generator.units.durations import parse_duration
from generator.units.numbers import format_number


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _slo(model, key):
    return next(slo for slo in model.slos if slo.key == key)


def test_timeline_follows_the_thresholds_and_promtool_confirms_it(runner, specs_dir, example_model, promtool):
    """10% errors for 6h on checkout/latency: the tiers whose threshold and detection time allow it fire."""
    slo = _slo(example_model, "checkout/latency")
    ratio, duration = Decimal("0.1"), parse_duration("6h")
    expected = {
        tier.name
        for tier in slo.tiers
        if detection_seconds(tier, slo.error_budget, ratio) + tier.for_.seconds < duration.seconds
    }
    assert expected and expected != {tier.name for tier in slo.tiers}  # the scenario separates the tiers
    args = ["simulate", "--specs", str(specs_dir), "checkout/latency"]
    result = runner.invoke(main, [*args, "--error-ratio", "10%", "--for", "6h", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verified_by_promtool"] is True and data["assertions"] > 0
    fired = {event["tier"] for event in data["events"] if event["state"] == "firing"}
    assert fired == expected
    resolved = {event["tier"] for event in data["events"] if event["state"] == "resolved"}
    assert resolved == fired and data["still_active_at_end"] == []
    spent = ratio * Decimal(duration.seconds) / (slo.error_budget * Decimal(slo.window.seconds))
    assert data["budget_consumed"] == pytest.approx(float(spent), rel=1e-3)


def test_table_output_says_what_fired_and_that_promtool_agreed(runner, specs_dir, promtool):
    args = ["simulate", "--specs", str(specs_dir), "storefront-probe/uptime"]
    result = runner.invoke(main, [*args, "--error-ratio", "100%", "--for", "10m"])
    assert result.exit_code == 0, result.output
    assert "page-fast" in result.output and "firing" in result.output
    assert "Verified: promtool test rules confirmed" in result.output


def test_verification_fails_when_the_rules_disagree_with_the_prediction(example_model, promtool):
    slo = _slo(example_model, "checkout/availability")
    scenario = sim.scenario_from_options("2%", "3h", "1h", slo)
    plan = sim.plan_simulation(slo, example_model.settings, scenario)
    assert sim.verify(plan).ok
    factor = format_number(slo.tiers[0].factor)
    # 2% errors burn at 20x: with the factor at 1.5x 14.4 = 21.6 the page never fires (a tiled window crosses
    # a threshold a few % higher within the same evaluation, so a nudge of the factor would go unseen).
    doubled = format_number(slo.tiers[0].factor * 3 / 2)
    tampered = dataclasses.replace(plan, rules_text=plan.rules_text.replace(f"> {factor}", f"> {doubled}"))
    assert tampered.rules_text != plan.rules_text
    result = sim.verify(tampered)
    assert not result.ok and "FAILED" in result.output


def test_scenario_file_with_traffic_phases(runner, specs_dir, tmp_path, promtool):
    scenario = tmp_path / "incident.yaml"
    scenario.write_text(
        "phases:\n"
        "  - {for: 6h, error_ratio: 0}\n"
        "  - {for: 1h, error_ratio: 5%, traffic: 2, name: deploy gone wrong}\n"
        "  - {for: 2h, error_ratio: 0.5%}\n"
        "recover: true\n"
    )
    args = ["simulate", "--specs", str(specs_dir), "checkout/availability", "--scenario", str(scenario)]
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [phase["label"] for phase in data["phases"]][:3] == ["clean traffic", "deploy gone wrong", "0.5% errors"]
    assert data["phases"][1]["traffic"] == 2
    assert data["verified_by_promtool"] is True
    assert any(event["tier"] == "page-fast" and event["state"] == "firing" for event in data["events"])


def test_bad_scenario_file_points_at_the_line(runner, specs_dir, tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("phases:\n  - {for: 1h, error_ratio: 0}\n  - {for: 2x, error_ratio: 150%, colour: red}\n")
    args = ["simulate", "--specs", str(specs_dir), "checkout/availability", "--scenario", str(scenario)]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert f"{scenario}:3:" in result.output
    assert "more than 100%" in result.output and "unknown field 'colour'" in result.output
    assert "not a duration" in result.output or "is not a duration" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["checkout/availability", "--error-ratio", "2%"], "--for"),
        (["checkout/availability", "--error-ratio", "2", "--for", "1h"], "more than 100%"),
        (["checkout/availability", "--error-ratio", "lots", "--for", "1h"], "not an error ratio"),
        (["checkout", "--error-ratio", "2%", "--for", "1h"], "name one SLO"),
        (["checkout/nope", "--error-ratio", "2%", "--for", "1h"], "no SLO 'nope'"),
    ],
)
def test_bad_options_are_bad_input(runner, specs_dir, args, message):
    result = runner.invoke(main, ["simulate", "--specs", str(specs_dir), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_traffic_cannot_change_for_a_probe(example_model):
    slo = _slo(example_model, "storefront-probe/uptime")
    scenario = sim.Scenario((sim.ScenarioPhase(3_600_000, Fraction(1, 50), traffic=2),), recover=False)
    with pytest.raises(sim.ScenarioError, match="traffic cannot change"):
        sim.plan_simulation(slo, example_model.settings, scenario)


@pytest.mark.parametrize(("text", "value"), [("2%", Fraction(1, 50)), ("0.02", Fraction(1, 50)), ("0", Fraction(0))])
def test_error_ratios_read_as_percent_or_fraction(text, value):
    assert sim.parse_ratio(text) == value
