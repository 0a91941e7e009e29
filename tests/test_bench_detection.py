"""The detection benchmark's arithmetic and its reading of promtool's report."""

from __future__ import annotations

import math
from decimal import Decimal

import yaml

from bench.detection import Scenario, continuous_detection_s, counter_values, parse_detections
from generator.tools.runner import promtool as run_promtool


def test_continuous_detection_is_the_workbook_formula_for_a_plain_step():
    # 100% errors, 99.9%, factor 14.4 over 1h: 0.001 * 14.4 / 1 * 3600 s = 51.84 s
    assert round(continuous_detection_s(Scenario("x", Decimal(1)), 3600, 300, Decimal("0.0144")), 6) == 51.84


def test_continuous_detection_weighs_a_traffic_step():
    # 10x traffic at 2% errors: the 1h window crosses 1.44% after 12.27 minutes (traffic-weighted)
    seconds = continuous_detection_s(Scenario("x", Decimal("0.02"), 10, 3600), 3600, 300, Decimal("0.0144"))
    assert round(seconds / 60, 2) == 12.27


def test_no_detection_at_or_below_the_threshold():
    assert continuous_detection_s(Scenario("x", Decimal("0.003")), 86400, 7200, Decimal("0.003")) == math.inf


def test_promtool_report_is_read_back(tmp_path, promtool):
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": "c", "values": counter_values([(3, 2.5), (2, 0)])}],
                "promql_expr_test": [
                    {"expr": "max(c)", "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": -1}]},
                    {"expr": "max(nothing)", "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": -1}]},
                ],
            }
        ],
    }
    (tmp_path / "t.test.yaml").write_text(yaml.safe_dump(test))
    got = parse_detections(run_promtool(["test", "rules", str(tmp_path / "t.test.yaml")], "t").output)
    assert got["max(c)"] == 7.5  # 0, 2.5, 5, 7.5, 7.5, 7.5
    assert got.get("max(nothing)") is None


def test_an_unknown_scenario_or_help_runs_nothing_and_writes_nothing(tmp_path, monkeypatch):
    """`python -m bench.detection --help` once overwrote the results with empty tables."""
    from click.testing import CliRunner

    from bench import detection

    monkeypatch.setattr(detection, "RESULTS", tmp_path / "latest.md")
    monkeypatch.setattr(detection, "DOCS", tmp_path / "windows.md")
    monkeypatch.setattr(detection, "run", lambda *args, **kwargs: (_ for _ in ()).throw(AssertionError("ran")))
    unknown = CliRunner().invoke(detection.main, ["nonsense"])
    assert unknown.exit_code == 2 and "nonsense" in unknown.output and "100% errors" in unknown.output
    shown = CliRunner().invoke(detection.main, ["--help"])
    assert shown.exit_code == 0 and "scenario" in shown.output.lower()
    assert list(tmp_path.iterdir()) == []
