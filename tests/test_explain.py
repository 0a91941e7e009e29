"""`sloforge explain` and the alert-quality warnings (also raised by `render`, errors with --strict)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_paths import TEAMS

from generator.cli import main
from generator.model.warnings import model_warnings
from generator.model.workbook import tier_facts
from generator.output import read_tree
from generator.pipeline import load_model
from generator.units.numbers import format_number


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _specs(tmp_path: Path, objective: str, expected_rate: str | None = None) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    shutil.copy(TEAMS, specs / "teams.yaml")
    rate = f"\n    expected_rate: {expected_rate}" if expected_rate else ""
    (specs / "jobs.yaml").write_text(
        f"""apiVersion: sloforge/v1
kind: Service
service: jobs
team: payments
slos:
  - name: runs
    objective: {objective}{rate}
    sli:
      events:
        errors: sum(rate(job_runs_failed_total{{job="jobs"}}[{{{{.window}}}}]))
        total: sum(rate(job_runs_total{{job="jobs"}}[{{{{.window}}}}]))
"""
    )
    return specs


def test_json_numbers_are_the_models_and_match_the_workbook(runner, specs_dir, example_model):
    result = runner.invoke(main, ["explain", "--specs", str(specs_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {f"{item['service']}/{item['slo']}": item for item in json.loads(result.stdout)["slos"]}
    assert set(rows) == {slo.key for slo in example_model.slos}
    for slo in example_model.slos:
        tiers = rows[slo.key]["tiers"]
        assert [row["tier"] for row in tiers] == [tier.name for tier in slo.tiers]
        for row, tier in zip(tiers, slo.tiers, strict=True):
            facts = tier_facts(slo, tier)
            assert row["burn_factor"] == format_number(tier.factor)
            assert Decimal(row["threshold_error_ratio"]) == Decimal(format_number(tier.factor * slo.error_budget))
            assert row["budget_consumed_when_firing"] == format_number(tier.budget_share)
            # Workbook: (1 - SLO) / error ratio x long window x factor, at 100% errors.
            workbook = float(slo.error_budget * tier.factor) * tier.long_window.seconds
            assert row["detection_at_100_percent_errors_seconds"] == pytest.approx(workbook, abs=1e-3)
            assert row["detection_at_2x_threshold_seconds"] == pytest.approx(
                facts.detection_double_threshold_s, abs=1e-3
            )
            assert row["reset_seconds"] == tier.short_window.seconds
            assert row["budget_exhausted_at_threshold_seconds"] == pytest.approx(
                slo.window.seconds / float(tier.factor), abs=1e-3
            )


def test_table_shows_every_tier_of_the_selected_slo_only(runner, specs_dir, example_model):
    result = runner.invoke(main, ["explain", "--specs", str(specs_dir), "checkout/latency"])
    assert result.exit_code == 0, result.output
    latency = next(slo for slo in example_model.slos if slo.key == "checkout/latency")
    assert "checkout/latency" in result.output and "checkout/availability" not in result.output
    for tier in latency.tiers:
        assert tier.name in result.output
        assert format_number(tier.factor) + "x" in result.output
    assert "ticket-slow" not in result.output  # disabled for this SLO in the spec


@pytest.mark.parametrize(
    ("selection", "message"),
    [("checkout/availabilty", "did you mean 'availability'"), ("chekout", "did you mean 'checkout'")],
)
def test_unknown_selection_is_bad_input(runner, specs_dir, selection, message):
    result = runner.invoke(main, ["explain", "--specs", str(specs_dir), selection])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_tier_that_can_never_fire_is_a_warning_and_strict_makes_it_an_error(runner, tmp_path):
    specs = _specs(tmp_path, "90")
    model = load_model(specs)
    never = [tier.name for tier in model.slos[0].tiers if tier.factor * model.slos[0].error_budget >= 1]
    assert never  # page-fast: 14.4 x 10% >= 1
    warnings = model_warnings(model)
    assert {name for name in never} == {w.message.split()[1] for w in warnings if "can never fire" in w.message}
    relaxed = runner.invoke(main, ["explain", "--specs", str(specs)])
    assert relaxed.exit_code == 0
    assert "can never fire" in relaxed.output
    strict = runner.invoke(main, ["explain", "--specs", str(specs), "--strict"])
    assert strict.exit_code == 2
    assert "treated as errors" in strict.output


def test_low_traffic_warning_appears_exactly_when_one_failure_spends_more_than_the_page_share(tmp_path):
    base = load_model(_specs(tmp_path / "base", "99.9")).slos[0]
    page = min((tier for tier in base.tiers if tier.notify == "page"), key=lambda tier: tier.budget_share)
    # one failure spends 1 / (rate x window x budget); the page tier fires once its share is spent
    boundary = 1 / (page.budget_share * Decimal(base.window.seconds) * base.error_budget)
    low = load_model(_specs(tmp_path / "low", "99.9", format_number(boundary / 2)))
    high = load_model(_specs(tmp_path / "high", "99.9", format_number(boundary * 2)))
    low_messages = [w.message for w in model_warnings(low)]
    assert any("low traffic" in message and page.name in message for message in low_messages)
    assert "synthetic traffic" in " ".join(low_messages)  # the Workbook's suggestions
    assert not [w for w in model_warnings(high) if "low traffic" in w.message]


def test_render_prints_warnings_and_strict_leaves_the_old_tree(runner, tmp_path):
    specs = _specs(tmp_path, "90")
    out = tmp_path / "out"
    relaxed = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(out)])
    assert relaxed.exit_code == 0, relaxed.output
    assert "can never fire" in relaxed.output
    assert (out / "prometheus" / "tests" / "jobs.test.yaml").is_file()
    before = read_tree(out)
    (specs / "jobs.yaml").write_text((specs / "jobs.yaml").read_text().replace("objective: 90", "objective: 91"))
    strict = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(out), "--strict"])
    assert strict.exit_code == 2
    assert "nothing was written" in strict.output
    assert read_tree(out) == before


def test_example_specs_render_without_warnings(runner, specs_dir, tmp_path):
    result = runner.invoke(main, ["render", "--specs", str(specs_dir), "--out", str(tmp_path / "out"), "--strict"])
    assert result.exit_code == 0, result.output
