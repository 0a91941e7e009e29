"""A 10-minute hole in the data (failed scrapes, a Prometheus restart) neither ends nor starts an alert.

promtool replays rendered rules over counters with a hole: tiled windows keep
their ratio (a missing tile counts as nothing), and the shortest window is held
across the hole, so a firing page stays firing and a quiet SLO stays quiet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shop_spec import GOOD_SPEC, SELECTOR, SPEC, counter, run_expr_test, shop_rules

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


@pytest.mark.parametrize("spec", [SPEC, GOOD_SPEC], ids=["errors-and-total", "good-and-total"])
def test_after_a_restart_the_errors_wait_for_raw_data(tmp_path, promtool, spec):
    """A restarted Prometheus writes no stale markers for what it recorded before, so for up to 5 minutes a lookup
    of a recorded series still finds its pre-restart value while the raw reads are empty. An errors rule that took
    the recorded total then wrote 0 errors (a firing page resolved) or, for good/total SLIs, the whole total as
    errors (a false page). The raw-reading rules read raw series only, so nothing is recorded until data is back.

    promtool cannot restart; a sample of the recorded total at the first evaluation after the restart (185m)
    stands in for the pre-restart one it would still find."""
    rules = shop_rules(tmp_path / "specs", spec)
    scrapes = [600.0] * 181 + [0.0] * 5 + [600.0] * 30  # no scrape between 181m and 185m
    down = range(181, 186)
    series = [
        {"series": 'requests_total{code="200"}', "values": counter(scrapes, down)},
        {"series": 'requests_total{code="500"}', "values": counter([0.0] * len(scrapes), down)},
        {"series": f'slo:sli_total:rate5m{SELECTOR[:-1]},slo_window="5m"}}', "values": "_x185 10"},
    ]
    checks = [{"expr": f"slo:sli_errors:rate5m{SELECTOR}", "eval_time": "185m", "exp_samples": []}]
    checks += [
        {"expr": 'ALERTS{alertname=~"SLOBurnRate.*"}', "eval_time": f"{minute}m", "exp_samples": []}
        for minute in range(185, 200)
    ]
    result = run_expr_test(tmp_path, "restart", series, checks, rules=rules)
    assert result.ok, result.output
