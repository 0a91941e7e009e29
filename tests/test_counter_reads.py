"""Raw counters are read as exact deltas over the tile, so a window's tiles add up to the counter's increase.

Prometheus evaluates rule groups off the scrape grid. There `rate(x[5m])`
sees 4 minutes of samples and extrapolates the fifth; an error burst in the
extrapolated minute is lost. promtool evaluates on the grid, so these tests
evaluate every 30s and read the windows recorded at the half minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from shop_spec import SELECTOR, counter, run_expr_test, shop_rules

from generator.model.counter_reads import exact_counter_reads
from generator.targets import rules as rules_module
from generator.units.durations import parse_duration

FIVE = parse_duration("5m")


@pytest.mark.parametrize(
    ("query", "rewritten"),
    [
        ("sum(rate(x[5m]))", True),
        ("sum(increase(x[5m]))", True),
        ('sum by (route) (rate(x{code=~"5..",job="a"}[5m]))', True),
        ('sum(rate({__name__="x"}[5m]))', True),
        ('sum(rate(x{path="/a[5m]}"}[5m]))', True),
        ("sum(irate(x[5m]))", False),
        ("sum(rate(x[1h]))", False),
        ("sum(rate(x[5m] offset 1m))", False),
        ("sum(rate(x[5m:1m]))", False),
        ('sum(rate({__name__=~"x|y"}[5m]))', False),
        ("histogram_count(rate(x[5m]))", False),
        ('sum(irate(x{a="rate(y[5m])"}[5m]))', False),  # a call spelled inside a label value is not a call
        ('sum(rate(x{a="rate(y[5m])"}[5m]))', True),
        ('sum by (a) (label_replace(rate(x[300s]), "a", "rate(y[5m])", "", ""))', False),  # nor one in a string
        ("sum(rate(x[5m])) + sum(irate(y[5m]))", False),  # a read it cannot rewrite keeps the others as written
        ("sum(histogram_count(rate(x[5m])))", False),
        ("sum(my_histogram_total)", False),  # no counter read: nothing to rewrite
    ],
)
def test_only_plain_counter_reads_over_the_tile_are_rewritten(query: str, rewritten: bool) -> None:
    (read,) = exact_counter_reads((query,), FIVE)
    assert (read != query) is rewritten


def test_errors_and_total_are_read_the_same_way_or_not_at_all() -> None:
    """An exact total beside an extrapolated errors read would dilute a burst in the extrapolated minute."""
    errors, total = 'sum(rate({__name__=~"failed_total|timeout_total"}[5m]))', "sum(rate(requests_total[5m]))"
    assert exact_counter_reads((errors, total), FIVE) == (errors, total)
    rewritten = exact_counter_reads(("sum(rate(failed_total[5m]))", total), FIVE)
    assert all(" offset 5m" in read for read in rewritten)


def test_a_rewritten_read_keeps_the_selector_verbatim_and_the_per_second_unit() -> None:
    (read,) = exact_counter_reads(('sum(rate(x{path="/a[5m]}"}[5m]))',), FIVE)
    sel = 'x{path="/a[5m]}"}'
    per_second = f"({sel} - {sel} offset 5m) / (timestamp({sel}) - timestamp({sel} offset 5m) >= 225)"
    guarded = f"({per_second} >= 0 unless resets({sel}[11m]) > 0) and count_over_time({sel}[5m]) > 1"
    assert read == f"sum(({guarded} or rate({sel}[5m])))"


def test_counters_scraped_on_different_grids_keep_a_steady_ratio(tmp_path: Path, promtool) -> None:
    """Total scraped every 2m, good every 1m, evaluated at the half minutes: the total's samples around a 5m
    tile span 4 or 6 minutes by turns. Dividing by their own span keeps 5% errors at 5% at every evaluation
    (divided by the tile, the ratio swings between 0% and 21%: a flapping page)."""
    good, total = exact_counter_reads(("sum(rate(app_ok_total[5m]))", "sum(rate(lb_requests_total[5m]))"), FIVE)
    minutes = 40
    total_values = " ".join(f"{1000 * m}" if m % 2 == 0 else "_" for m in range(minutes))
    good_values = " ".join(f"{950 * m}" for m in range(minutes))
    checks = [
        {
            "expr": f"round(1e6 * ({good}) / ({total}))",
            "eval_time": f"{minute}m30s",
            "exp_samples": [{"labels": "{}", "value": 950000}],
        }
        for minute in range(10, 30)
    ]
    series = [
        {"series": "lb_requests_total", "values": total_values},
        {"series": "app_ok_total", "values": good_values},
    ]
    result = run_expr_test(tmp_path, "grids", series, checks)
    assert result.ok, result.output


def _rules(tmp_path: Path) -> str:
    return shop_rules(tmp_path / "specs")


def _run(tmp_path: Path, rules: str, series: list[dict], checks: list[dict]) -> tuple[bool, str]:
    # rules run at every half minute, between the 1-minute samples
    result = run_expr_test(tmp_path, "offgrid", series, checks, rules=rules, evaluation_interval="30s")
    return result.ok, result.output


MINUTES = 130
BURST_MINUTES = {m for m in range(MINUTES) if m % 5 == 1}  # the minute a half-minute tile's rate extrapolates over


def _burst_scenario() -> tuple[list[dict], list[dict]]:
    """100 errors in every fifth minute, 1,000 requests a minute: every window holds exactly 2% errors."""
    errors = [100.0 if minute in BURST_MINUTES else 0.0 for minute in range(MINUTES)]
    series = [
        {"series": 'requests_total{code="500"}', "values": counter(errors)},
        {"series": 'requests_total{code="200"}', "values": counter([1000.0 - e for e in errors])},
    ]
    checks = []
    for eval_minute in (60, 90, 120):
        for window, seconds in (("1h", 3600), ("30m", 1800)):
            bursts = sum(1 for m in BURST_MINUTES if eval_minute - seconds // 60 < m <= eval_minute)
            checks.append(
                {
                    # errors counted in the window (rounded: the rung divides and multiplies back)
                    "expr": f"sum(round(slo:sli_errors:rate{window}{SELECTOR} * {seconds}))",
                    "eval_time": f"{eval_minute}m30s",
                    "exp_samples": [{"labels": "{}", "value": 100 * bursts}],
                }
            )
        checks.append(
            {
                "expr": f"sum(round(slo:sli_error:ratio_rate1h{SELECTOR} * 1e6))",
                "eval_time": f"{eval_minute}m30s",
                "exp_samples": [{"labels": "{}", "value": 20000}],
            }
        )
    return series, checks


def test_off_the_sample_grid_every_window_counts_every_error(tmp_path: Path, promtool) -> None:
    series, checks = _burst_scenario()
    ok, output = _run(tmp_path, _rules(tmp_path), series, checks)
    assert ok, output


def test_with_rate_the_bursts_between_tiles_would_be_missed(tmp_path: Path, promtool, monkeypatch) -> None:
    """The check above can fail: with `rate(x[5m])` as before, the half-minute tiles never see a burst."""
    monkeypatch.setattr(rules_module, "exact_counter_reads", lambda queries, window: queries)
    rules = _rules(tmp_path)
    assert "rate(requests_total" in rules and " offset 5m unless" not in rules
    series, checks = _burst_scenario()
    ok, output = _run(tmp_path, rules, series, checks)
    assert not ok
    assert "slo:sli_errors:rate1h" in output


def test_tiles_chain_across_a_scrape_gap_shorter_than_the_lookback(tmp_path: Path, promtool) -> None:
    """Three minutes without a sample: the increase across them is counted once, in the tile where data resumes."""
    increments = [float(1 + minute % 7) for minute in range(MINUTES)]
    gap = range(62, 65)
    series = [
        {"series": 'requests_total{code="500"}', "values": counter(increments, gap)},
        {"series": 'requests_total{code="200"}', "values": counter([0.0] * MINUTES)},
    ]
    cumulative = [sum(increments[: minute + 1]) for minute in range(MINUTES)]
    checks = [
        {
            "expr": f"sum(round(slo:sli_errors:rate1h{SELECTOR} * 3600))",
            "eval_time": f"{minute}m30s",
            "exp_samples": [{"labels": "{}", "value": cumulative[minute] - cumulative[minute - 60]}],
        }
        for minute in (70, 100, 120)
    ]
    ok, output = _run(tmp_path, _rules(tmp_path), series, checks)
    assert ok, output


def test_on_the_grid_the_exact_read_equals_rate_through_resets_and_young_series(tmp_path: Path, promtool) -> None:
    """Where rate is exact (on the grid, promtool's tests and the backfill), both spellings agree: a reset
    falls back to Prometheus' own `increase`, a series younger than the tile too."""
    original = 'sum(rate(c{pod!="c"}[5m]))'
    (exact,) = exact_counter_reads((original,), FIVE)
    assert exact != original
    # 0 where both agree (or both are absent); 1000 or 2000 where only one of them has a value.
    compare = f"round(1e9 * (({exact}) - ({original}))) or ({exact}) * 0 + 1000 or ({original}) * 0 + 2000 or vector(0)"
    ok, output = _grid_run(tmp_path, compare)
    assert ok, output


def test_a_series_that_stops_leaves_the_tile_when_rates_would(tmp_path: Path, promtool) -> None:
    """Without a stale marker an instant lookup finds the last sample for 5 more minutes; the tile must still
    vanish when `rate` would (two samples in the tile), or `SLOSLIMissing` would fire minutes late."""
    original = 'sum(rate(c{pod="c"}[5m]))'
    (exact,) = exact_counter_reads((original,), FIVE)
    ok, output = _grid_run(tmp_path, f"(count({exact}) or vector(0)) - (count({original}) or vector(0))")
    assert ok, output


def _grid_run(tmp_path: Path, compare: str) -> tuple[bool, str]:
    """`compare` must be 0 at every minute over counters with resets, a young series and one that stops."""
    resets = "0 100 200 300 400 500 600 50 150 250 350 450 550 20 40 60 80 100 120 140 160 180 200"
    young = "_ _ _ _ _ _ _ _ _ 0 100 200 300 400 500 600 700 800 900 1000 1100 1200 1300"
    stops = "0 100 200 300 400 500 600 700 800 900 1000"  # then no sample, and no stale marker
    series = [
        {"series": 'c{pod="a"}', "values": resets},
        {"series": 'c{pod="b"}', "values": young},
        {"series": 'c{pod="c"}', "values": stops},
    ]
    checks = [
        {"expr": compare, "eval_time": f"{minute}m", "exp_samples": [{"labels": "{}", "value": 0}]}
        for minute in range(23)
    ]
    result = run_expr_test(tmp_path, "grid", series, checks)
    return result.ok, result.output


def test_a_reset_the_resets_range_misses_never_makes_a_tile_negative(tmp_path: Path, promtool) -> None:
    """With a lookback longer than Prometheus' default, `x offset 5m` can find a sample from before a restart that
    `resets(...)` no longer covers. Simulated by shortening the resets range: the tile falls back to `increase`
    instead of subtracting the counter's whole former value (which would mute the window it is summed into)."""
    (exact,) = exact_counter_reads(("sum(rate(c[5m]))",), FIVE)
    short_sighted = exact.replace("[11m]", "[1m]")
    unguarded = short_sighted.replace(" >= 0 unless", " unless")
    assert short_sighted != exact and unguarded != short_sighted
    values = "0 100 200 300 400 500 600 700 800 5 15 25 35 45 55"  # the process restarts at minute 9
    # the tile equals Prometheus' own rate (the reset handled) at every minute after the restart
    same = f"round(1e9 * (({short_sighted}) - sum(rate(c[5m])))) or vector(-1)"
    checks = [{"expr": same, "eval_time": f"{m}m", "exp_samples": [{"labels": "{}", "value": 0}]} for m in range(9, 15)]
    negative = [{"expr": f"({unguarded}) < 0", "eval_time": "11m", "exp_samples": []}]
    series = [{"series": "c", "values": values}]
    for name, cases, passes in (("guarded", checks, True), ("unguarded", negative, False)):
        result = run_expr_test(tmp_path, name, series, cases)
        assert result.ok is passes, result.output


@pytest.mark.parametrize(
    ("interval", "values", "eval_times"),
    [
        # 1/s scraped every 15s, stops at 10m without a stale marker: the last rate must fade as rate's does
        ("15s", "0+15x40", [f"{m}m30s" for m in range(11, 15)]),
        # two samples 1ms apart: a span of 1ms must not turn one request into 1,000 per second
        ("1ms", "0 1", ["5m"]),
    ],
)
def test_samples_closer_than_most_of_the_tile_are_read_by_rate(
    tmp_path: Path, promtool, interval: str, values: str, eval_times: list[str]
) -> None:
    original = "sum(rate(c[5m]))"
    (exact,) = exact_counter_reads((original,), FIVE)
    unguarded = exact.replace(" >= 225)", ")")
    assert unguarded != exact
    compare = f"round(1e9 * (({{}}) - ({original}))) or vector(-1)"
    for name, expr, passes in (("guarded", exact, True), ("unguarded", unguarded, False)):
        checks = [
            {"expr": compare.format(expr), "eval_time": at, "exp_samples": [{"labels": "{}", "value": 0}]}
            for at in eval_times
        ]
        result = run_expr_test(tmp_path, name, [{"series": "c", "values": values}], checks, interval=interval)
        assert result.ok is passes, result.output
