"""Results -> the markdown in bench/results/latest.md (pure: data in, text out)."""

from __future__ import annotations

import statistics
from collections import defaultdict

from bench.evaluation import TOLERANCE, Check, EvalResult, RunResult
from bench.render_speed import RenderTiming
from bench.rule_test_speed import RuleTestTiming
from generator.units.durations import parse_duration

RENDER_TARGET_SLOS, RENDER_TARGET_SECONDS = 5000, 10.0
COST_TARGET = 10.0  # naive evaluation time / sloforge evaluation time


def pct(value: float) -> str:
    return "inf" if value == float("inf") else f"{value * 100:.2f}%"


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def render_section(timings: list[RenderTiming]) -> list[str]:
    lines = [
        TITLES[0],
        "",
        "Specs written to disk (mixed SLI kinds: events, latency, raw, bool_gauge; 10 SLOs per service file), then",
        "load + validate + build + render_all in-process (best of the repetitions), and `sloforge render` once.",
        "",
        "| SLOs | files | in-process best | median | per SLO | load | validate | build | render | CLI once |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        p = t.phases
        lines.append(
            f"| {t.slos:,} | {t.files:,} | {t.best:.2f} s | {t.median:.2f} s | {t.per_slo_ms:.2f} ms | "
            f"{p['load']:.2f} s | {p['validate']:.2f} s | {p['build']:.2f} s | {p['render']:.2f} s | {t.cli_seconds:.2f} s |"
        )
    target = next((t for t in timings if t.slos == RENDER_TARGET_SLOS), None)
    if target and timings:
        smallest = min(timings, key=lambda t: t.slos)
        growth = target.per_slo_ms / smallest.per_slo_ms
        verdict = "met" if target.best < RENDER_TARGET_SECONDS else "NOT met"
        lines += [
            "",
            f"Target ({RENDER_TARGET_SLOS:,} SLOs in under {RENDER_TARGET_SECONDS:g} s): **{verdict}** "
            f"({target.best:.2f} s in-process, {target.cli_seconds:.2f} s via the CLI). "
            f"Time per SLO at {target.slos:,} is {growth:.2f}x the time per SLO at {smallest.slos:,} (1.00 = linear).",
        ]
    return lines + [""]


def rule_test_section(timing: RuleTestTiming | None) -> list[str]:
    lines = [TITLES[1], ""]
    if timing is None:
        return lines + ["Not measured: this render produced no rule tests (prometheus/tests/).", ""]
    return lines + [
        "| SLOs | test files | promtool test rules | per SLO | result |",
        "|---:|---:|---:|---:|---|",
        f"| {timing.slos} | {timing.test_files} | {timing.seconds:.2f} s | {timing.per_slo * 1000:.0f} ms | "
        f"{'pass' if timing.ok else 'FAIL'} |",
        "",
    ]


def errors_by_window(checks: list[Check]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for check in checks:
        found[check.window].append(check.error)
    return dict(sorted(found.items(), key=lambda item: parse_duration(item[0]).millis))


def max_error(run: RunResult) -> float:
    return max((c.error for c in run.checks), default=float("nan"))


def within(run: RunResult) -> str:
    ok = sum(1 for c in run.checks if c.error <= TOLERANCE)
    return f"{ok}/{len(run.checks)}"


def eval_section(result: EvalResult) -> list[str]:
    cfg, synth, prep = result.config, result.synth, result.prep
    runs = {run.name: run for run in result.runs}
    ours, naive = runs["sloforge"], runs["naive"]
    ratio = naive.median_cycle / ours.median_cycle if ours.median_cycle else float("inf")
    sample_ratio = naive.samples_per_cycle / ours.samples_per_cycle if ours.samples_per_cycle else float("inf")
    lines = [
        TITLES[2],
        "",
        f"{cfg.slos} SLOs x {synth.series_per_slo} raw series ({synth.pods} pods x 5 status codes), one sample per "
        f"{synth.step}s, {cfg.days} days of history plus a live feed; {prep.raw_samples:,} raw samples backfilled "
        f"with `promtool tsdb create-blocks-from openmetrics` ({prep.raw_seconds:.0f} s), recorded 5m series "
        f"backfilled with `promtool tsdb create-blocks-from rules` ({prep.rules_seconds:.0f} s), compaction "
        f"{prep.settle_seconds:.0f} s, TSDB {mib(prep.data_bytes)}. Evaluation every 1m; {cfg.warmup_cycles} warm-up "
        f"cycles, then {cfg.cycles} measured cycles per rule set.",
        "",
        "| rule set | SLOs | series/SLO | groups | rules | eval time per cycle (median) | min..max | samples per cycle | "
        "peak RSS | CPU s/min | max SLI error vs exact | within 1% |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in (ours, naive):
        lines.append(
            f"| {run.name} | {cfg.slos} | {synth.series_per_slo} | {run.groups} | {run.rules} | {run.median_cycle:.3f} s | "
            f"{min(run.cycle_seconds):.3f}..{max(run.cycle_seconds):.3f} s | {run.samples_per_cycle:,} | "
            f"{mib(run.peak_rss)} | {run.cpu_per_minute:.1f} | {pct(max_error(run))} | {within(run)} |"
        )
    verdict = "met" if ratio >= COST_TARGET else "NOT met"
    lines += [
        "",
        f"naive / sloforge: **{ratio:.1f}x** evaluation time, {sample_ratio:.1f}x samples per cycle "
        f"(target: sloforge at most 1/{COST_TARGET:g} of naive: **{verdict}**).",
        "",
        "Error against the exact ratio of the generated counters, per window (relative; all SLOs, "
        f"{len({c.at for c in ours.checks}) and 3} instants per run):",
        "",
        "| window | sloforge max | sloforge median | sloforge > 1% | naive max | naive median | naive > 1% |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ours_w, naive_w = errors_by_window(ours.checks), errors_by_window(naive.checks)
    for window in ours_w:
        a, b = ours_w[window], naive_w.get(window, [])
        lines.append(
            f"| {window} | {pct(max(a))} | {pct(statistics.median(a))} | {sum(e > TOLERANCE for e in a)}/{len(a)} | "
            f"{pct(max(b)) if b else '-'} | {pct(statistics.median(b)) if b else '-'} | "
            f"{sum(e > TOLERANCE for e in b)}/{len(b)} |"
        )
    lines += ["", *_worst_naive_period(naive), *_worst(ours), "", *_notes(result), ""]
    return lines


def _worst_naive_period(naive: RunResult) -> list[str]:
    period = [c for c in naive.checks if c.window == "30d" and c.truth is not None]
    latest: dict[tuple[str, str], Check] = {}
    for check in period:
        if check.key not in latest or check.at > latest[check.key].at:
            latest[check.key] = check
    worst = sorted(latest.values(), key=lambda c: c.error, reverse=True)[:5]
    if not worst:
        return []
    lines = [
        "Where the naive 30d average of 5m ratios differs most from the traffic-weighted truth:",
        "",
        "| SLO | exact 30d error ratio | naive 30d | relative error |",
        "|---|---:|---:|---:|",
    ]
    for c in worst:
        lines.append(f"| {c.key[0]}/{c.key[1]} | {c.truth:.6f} | {c.value:.6f} | {pct(c.error)} |")
    return [*lines, ""]


def _worst(run: RunResult) -> list[str]:
    worst = sorted(run.checks, key=lambda c: c.error, reverse=True)[:5]
    lines = [
        f"Largest {run.name} errors (window, exact ratio, recorded ratio):",
        "",
        "| SLO | window | exact | recorded | relative error |",
        "|---|---|---:|---:|---:|",
    ]
    for c in worst:
        truth = "n/a" if c.truth is None else f"{c.truth:.6f}"
        lines.append(f"| {c.key[0]}/{c.key[1]} | {c.window} | {truth} | {c.value:.6f} | {pct(c.error)} |")
    return lines


def _notes(result: EvalResult) -> list[str]:
    notes = [
        f"Backfill stages: {'; '.join(result.prep.stages)}.",
        "The recorded-series backfill batches the per-SLO expressions into one `sum by (service, route)` query per "
        "series name (promtool runs one query per rule per 2h block); at three past instants its values differ from "
        f"sloforge's rendered per-SLO expressions by at most {result.prep.backfill_error:.1e} (relative).",
    ]
    if result.prep.gap_seconds:
        notes.append(f"The backfill ended {result.prep.gap_seconds:.0f}s late: a gap in the recorded history.")
    for run in result.runs:
        notes.append(
            f"{run.name}: {run.missed_iterations:g} missed group iterations, {run.failures:g} rule evaluation "
            f"failures, {run.compactions_during:g} compactions during the measured cycles; cycles "
            + ", ".join(f"{s:.3f}" for s in run.cycle_seconds)
            + " s."
        )
    return ["- " + note for note in notes]


TITLES = ("## Render throughput", "## promtool test rules", "## Rule evaluation on a real Prometheus")


def sections_of(text: str) -> dict[str, str]:
    """`## ` sections of an earlier report, so a partial run keeps what it did not measure."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line
            found[current] = []
        if current:
            found[current].append(line)
    return {title: "\n".join(lines).rstrip() for title, lines in found.items()}


def markdown(
    header: list[str],
    render: list[RenderTiming] | None,
    rule_tests: RuleTestTiming | None | bool,
    evaluation: EvalResult | None,
    stamp: str = "",
    previous: str = "",
) -> str:
    """The report; sections this run skipped are kept from `previous` (the last latest.md)."""
    fresh: dict[str, list[str]] = {}
    if render is not None:
        fresh[TITLES[0]] = render_section(render)
    if rule_tests is not False:
        fresh[TITLES[1]] = rule_test_section(rule_tests if isinstance(rule_tests, RuleTestTiming) else None)
    if evaluation is not None:
        fresh[TITLES[2]] = eval_section(evaluation)
    old = sections_of(previous)
    lines = ["# sloforge benchmarks", "", *header, ""]
    for title in TITLES:
        if title in fresh:
            section = fresh[title]
            lines += [section[0], "", f"_{stamp}_" if stamp else "", *section[1:]]
        elif title in old:
            lines += [old[title], ""]
    return "\n".join(lines).rstrip() + "\n"
