"""The benchmark report: verdicts and ratios follow from the measured numbers."""

from __future__ import annotations

from bench.evaluation import TOLERANCE, Check, EvalConfig, EvalResult, Prep, RunResult
from bench.render_speed import RenderTiming
from bench.report import (
    COST_TARGET,
    TITLES,
    accuracy_verdict,
    cost_ceiling,
    eval_section,
    feed_phrase,
    markdown,
    render_section,
    sections_of,
)
from bench.synth import SynthConfig


def run(name: str, cycles: list[float], samples: int, checks: list[Check]) -> RunResult:
    return RunResult(name, cycles, samples, 10, 2, 2**30, 1.0, 0, 0, 0, checks)


def result(ours_cycle: float, naive_cycle: float) -> EvalResult:
    key = ("svc-000", "route-0")
    ours = [Check(key, "1h", 100.0, 0.0101, 0.01), Check(key, "30d", 100.0, 0.002, 0.002)]
    naive = [Check(key, "1h", 100.0, 0.01, 0.01), Check(key, "30d", 100.0, 0.003, 0.002)]
    prep = Prep(1000, 1.0, 1.0, 1.0, ["a"], 2**20, 0.0, 1e-15)
    return EvalResult(
        EvalConfig(slos=1, pods=2),
        SynthConfig(slos=1, pods=2, steps=10),
        prep,
        [run("sloforge", [ours_cycle] * 3, 100, ours), run("naive", [naive_cycle] * 3, 5000, naive)],
    )


def test_check_error_is_relative_to_the_truth():
    key = ("s", "r")
    assert Check(key, "1h", 0, 0.0102, 0.01).error > TOLERANCE
    assert Check(key, "1h", 0, 0.01005, 0.01).error < TOLERANCE
    assert Check(key, "1h", 0, 0.0, 0.0).error == 0
    assert Check(key, "1h", 0, 0.1, None).error == float("inf")


def test_cost_verdict_follows_the_ratio():
    met = "\n".join(eval_section(result(0.1, 0.1 * COST_TARGET * 1.5)))
    assert f"**{COST_TARGET * 1.5:.1f}x** evaluation time" in met and "**met**" in met
    missed = "\n".join(eval_section(result(0.1, 0.1 * COST_TARGET / 2)))
    assert f"**{COST_TARGET / 2:.1f}x** evaluation time" in missed and "**NOT met**" in missed
    assert "50.0x samples per minute" in met  # 5000 / 100


def test_naive_period_error_is_reported():
    text = "\n".join(eval_section(result(0.1, 2.0)))
    assert "| svc-000/route-0 | 0.002000 | 0.003000 | 50.00% |" in text
    assert "| 30d | 0.00% |" in text  # sloforge's 30d matches the truth in this data


def test_render_verdict_and_linearity():
    timings = [
        RenderTiming(100, 120, [0.2, 0.3], {"load": 0, "validate": 0, "build": 0, "render": 0.2}, 0.5),
        RenderTiming(5000, 6000, [12.0], {"load": 1, "validate": 1, "build": 1, "render": 9}, 13.0),
    ]
    text = "\n".join(render_section(timings))
    assert "**NOT met**" in text
    assert f"{(12.0 / 5000) / (0.2 / 100):.2f}x the time per SLO" in text


def test_a_partial_run_keeps_the_sections_it_skipped():
    old = markdown(["machine"], None, False, result(0.1, 2.0), stamp="first run")
    timings = [RenderTiming(100, 120, [0.2], {"load": 0, "validate": 0, "build": 0, "render": 0.2}, 0.5)]
    new = markdown(["machine"], timings, False, None, stamp="second run", previous=old)
    assert sections_of(new)[TITLES[2]] == sections_of(old)[TITLES[2]]
    assert "_first run_" in sections_of(new)[TITLES[2]]
    assert "_second run_" in sections_of(new)[TITLES[0]]
    assert TITLES[1] not in sections_of(new)


def test_sections_written_by_other_benches_are_kept_in_place():
    previous = (
        "# sloforge benchmarks\n\nmachine\n\n## Other bench\n\nkeep me\n\n"
        + markdown(["machine"], None, False, result(0.1, 2.0), stamp="first run").split("\n", 3)[3]
    )
    new = markdown(["machine"], None, False, result(0.1, 20.0), stamp="second run", previous=previous)
    assert "## Other bench\n\nkeep me" in new
    assert new.index("## Other bench") < new.index(TITLES[2])
    assert "_second run_" in sections_of(new)[TITLES[2]] and "first run" not in new


def test_accuracy_verdict_covers_long_windows_and_naive():
    key = ("svc-000", "route-0")
    ours = run("sloforge", [0.1], 1, [Check(key, "5m", 0, 0.02, 0.01), Check(key, "1h", 0, 0.01004, 0.01)])
    naive = run("naive", [1.0], 1, [Check(key, "5m", 0, 0.03, 0.01), Check(key, "1h", 0, 0.01, 0.01)])
    lines = accuracy_verdict(ours, naive)
    assert "**met**" in lines[0]  # 5m is not held to the target; 1h is 0.4% off
    assert "**NOT met** (1h)" in lines[1]  # but naive's 1h is exact here
    worse = run("sloforge", [0.1], 1, [Check(key, "1h", 0, 0.0101, 0.01)])
    assert "**NOT met** (1h)" in accuracy_verdict(worse, None)[0]


def test_the_report_says_whether_the_samples_were_stored_on_time():
    """A verdict measured with samples served ahead must not read as one for late data, nor the other way round."""
    key = ("svc-000", "route-0")
    ours = run("sloforge", [0.1], 1, [Check(key, "1h", 0, 0.01, 0.01)])
    on_time, late = accuracy_verdict(ours, None, lead=20)[0], accuracy_verdict(ours, None, lead=-60)[0]
    assert "stored before the evaluations that read it" in on_time and "late" not in on_time
    assert "stored late" in late and "before the evaluations" not in late
    assert "not measured in this run" in feed_phrase(20)
    assert "from 60 s after its timestamp" in feed_phrase(-60) and "late-stored data" in feed_phrase(-60)
    assert "some samples are stored after" in feed_phrase(5)


def test_cost_ceiling_is_naive_over_its_own_raw_read():
    ours, naive = run("sloforge", [0.3], 100, []), run("naive", [0.6], 5000, [])
    ours.per_rule = {"slo:sli_errors:rate5m": 0.1, "slo:sli_total:rate5m": 0.05, "slo:sli_error:ratio_rate1h": 0.05}
    naive.per_rule = {"slo:sli_error:ratio_rate5m": 0.01, "slo:sli_error:ratio_rate3d": 0.59}
    text = "\n".join(cost_ceiling(ours, naive))
    assert "at most **60x** cheaper than naive" in text  # 0.6 / 0.01
    assert "take 0.1500 s per minute, 15.0x naive's `rate` read" in text
    assert "all its other rules together 0.0500 s (naive / those: 12.0x)" in text
    naive.per_rule = {"slo:sli_error:ratio_rate3d": 0.59}
    assert cost_ceiling(ours, naive) == []  # no 5m read measured: no ceiling claimed
