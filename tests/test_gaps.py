"""A 10-minute hole in the data (failed scrapes, a Prometheus restart) neither ends nor starts an alert.

promtool replays rendered rules over counters with a hole: tiled windows keep
their ratio (a missing tile counts as nothing), and the shortest window is held
across the hole, so a firing page stays firing and a quiet SLO stays quiet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shop_spec import SELECTOR, counter, run_expr_test, shop_rules

from generator.tools.runner import ToolResult

MINUTES = 240
ERRORS_FROM = 120  # minute the errors start (10%: page-fast fires within ten minutes)
HOLE = range(170, 180)  # ten minutes without a sample


def _run_gap(tmp_path: Path, rules: str, error_ratio: float) -> ToolResult:
    requests = 600.0
    bad = [requests * error_ratio if minute >= ERRORS_FROM else 0.0 for minute in range(MINUTES)]
    good = [requests - b for b in bad]
    checks = []
    for minute in range(HOLE.start - 5, HOLE.stop + 15):
        firing = 'count(ALERTS{alertname="SLOBurnRatePageFast",alertstate="firing"})'
        checks.append(
            {
                "expr": firing,
                "eval_time": f"{minute}m",
                "exp_samples": [{"labels": "{}", "value": 1}] if error_ratio else [],
            }
        )
        for window in ("1h", "6h", "1d", "30d"):
            checks.append(
                {
                    "expr": f"count(slo:sli_error:ratio_rate{window}{SELECTOR})",
                    "eval_time": f"{minute}m",
                    "exp_samples": [{"labels": "{}", "value": 1}],
                }
            )
    if not error_ratio:
        checks.append({"expr": 'ALERTS{alertstate="firing"}', "eval_time": f"{HOLE.stop + 15}m", "exp_samples": []})
    series = [
        {"series": 'requests_total{code="500"}', "values": counter(bad, HOLE)},
        {"series": 'requests_total{code="200"}', "values": counter(good, HOLE)},
    ]
    return run_expr_test(tmp_path, "gap", series, checks, rules=rules)


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> str:
    return shop_rules(tmp_path_factory.mktemp("specs"))


def test_a_firing_page_stays_firing_through_a_hole(rules, tmp_path, promtool):
    result = _run_gap(tmp_path, rules, 0.10)
    assert result.ok, result.output


def test_a_hole_in_clean_traffic_fires_nothing(rules, tmp_path, promtool):
    result = _run_gap(tmp_path, rules, 0.0)
    assert result.ok, result.output


def test_without_the_hold_the_hole_would_end_the_page(rules, tmp_path, promtool):
    """The check above can fail: reading the shortest window without its hold, and without the blind-SLI hold
    (a firing page also holds while the SLI's total is absent), the page resolves in the hole."""
    unheld = re.sub(r"last_over_time\((slo:sli_error:ratio_rate5m\{[^}]*\})\[15m\]\)", r"\1", rules)
    unlatched = re.sub(r"\n(\s*)or\n\s*\(\n\s*max by \(.*?absent\([^\n]*\)\n\s*\)", "", unheld, flags=re.S)
    assert unheld != rules and unlatched != unheld and "absent(" in rules
    unheld = unlatched
    result = _run_gap(tmp_path, unheld, 0.10)
    assert not result.ok
    assert "SLOBurnRatePageFast" in result.output


def test_without_the_zero_fallback_the_hole_would_empty_the_long_windows(rules, tmp_path, promtool):
    """The window checks can fail: a sum of tiles without `or vector(0)` vanishes when one tile is missing."""
    bare = rules.replace(" or vector(0)", "")
    assert bare != rules
    result = _run_gap(tmp_path, bare, 0.0)
    assert not result.ok
    assert "ratio_rate1h" in result.output
