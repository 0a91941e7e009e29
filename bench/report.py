"""Results -> the markdown in bench/results/latest.md (pure: data in, text out)."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Sequence

from bench.evaluation import TOLERANCE, Check, EvalResult, RunResult
from bench.exporter import LEAD
from bench.prom import SCRAPE_INTERVAL
from bench.render_speed import RenderTiming
from bench.rule_test_speed import RuleTestTiming
from generator.targets import labels as L
from generator.units.durations import format_duration, parse_duration

RENDER_TARGET_SLOS, RENDER_TARGET_SECONDS = 5000, 10.0
COST_TARGET = 50.0  # naive evaluation time / sloforge evaluation time (issue 11)


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


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def _intervals(run: RunResult) -> str:
    return ", ".join(f"{count} x {interval}" for interval, count in sorted(run.intervals.items()))


def _cost_table(result: EvalResult, names: Sequence[str]) -> list[str]:
    runs = {run.name: run for run in result.runs}
    lines = [
        "| rule set | groups | rules | eval time per minute (median) | min..max | samples per minute | peak RSS | "
        "CPU s/min | load average during the cycles |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        run = runs[name]
        load = f"{min(run.loads):.1f}..{max(run.loads):.1f}" if run.loads else "-"
        lines.append(
            f"| {name} | {_intervals(run) or run.groups} | {run.rules:,} | {run.median_cycle:.4f} s | "
            f"{min(run.cycle_seconds):.4f}..{max(run.cycle_seconds):.4f} s | {run.samples_per_cycle:,} | "
            f"{mib(run.peak_rss)} | {run.cpu_per_minute:.2f} | {load} |"
        )
    return lines


def _where_time_goes(run: RunResult, top: int = 6) -> list[str]:
    ranked = sorted(run.per_rule.items(), key=lambda item: item[1], reverse=True)
    total = sum(run.per_rule.values())
    lines = [
        f"**{run.name}**: per rule, summed over its groups (`evaluationTime` from `/api/v1/rules` x evaluations per "
        "minute, mean of the measured cycles; samples from the query stats):",
        "",
        "| rule | seconds per minute | share | samples per minute |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in ranked[:top]:
        share = seconds / total if total else 0.0
        lines.append(f"| `{name}` | {seconds:.4f} | {share * 100:.0f}% | {run.per_rule_samples.get(name, 0):,} |")
    rest = ranked[top:]
    if rest:
        seconds = sum(value for _, value in rest)
        samples = sum(run.per_rule_samples.get(name, 0) for name, _ in rest)
        share = seconds / total if total else 0.0
        lines.append(f"| {len(rest)} other rules | {seconds:.4f} | {share * 100:.0f}% | {samples:,} |")
    lines.append(f"| **all** | **{total:.4f}** | | **{run.samples_per_cycle:,}** |")
    return [*lines, ""]


def _accuracy_rows(errors: list[float]) -> str:
    over = sum(e > TOLERANCE for e in errors)
    return f"{pct(max(errors))} | {pct(statistics.median(errors))} | {over}/{len(errors)}"


LONG_MS = 3_600_000  # the exactness target covers windows of 1h and longer


def feed_phrase(lead: int) -> str:
    """How the live samples reached Prometheus: on time (served ahead), or late (the case the rules cannot fix)."""
    if lead > SCRAPE_INTERVAL:
        return (
            f"a live feed that serves each sample {lead} s before its timestamp, so it is stored before every "
            "evaluation at or after it (samples stored late, as with federation or remote write, are not measured "
            "in this run: docs/windows.md)."
        )
    if lead > 0:
        return (
            f"a live feed that serves each sample {lead} s before its timestamp, less than a scrape interval "
            f"({SCRAPE_INTERVAL} s): some samples are stored after evaluations that should read them."
        )
    return (
        f"a live feed that serves each sample from {-lead} s after its timestamp on (scraped every "
        f"{SCRAPE_INTERVAL} s), so evaluations in between read the sample before it: late-stored data, as with "
        'federation or remote write (docs/windows.md, "Samples that arrive after the evaluation").'
    )


def stored_phrase(lead: int) -> str:
    return (
        "with every sample stored before the evaluations that read it"
        if lead > SCRAPE_INTERVAL
        else "with samples stored late (see the scale line)"
    )


def accuracy_verdict(ours: RunResult, naive: RunResult | None, lead: int = LEAD) -> list[str]:
    """Target 2 of issue 11: every window >= 1h within TOLERANCE at every instant; no window worse than naive."""
    ours_w = errors_by_window(ours.checks)
    naive_w = errors_by_window(naive.checks) if naive else {}
    long = {w: e for w, e in ours_w.items() if parse_duration(w).millis >= LONG_MS}
    misses = [w for w, e in long.items() if max(e) > TOLERANCE]
    worse = [
        w
        for w, e in ours_w.items()
        if w in naive_w and (max(e) > max(naive_w[w]) or statistics.median(e) > statistics.median(naive_w[w]))
    ]
    tol = f"{TOLERANCE * 100:g}%"
    lines = [
        f"- Every sloforge window of 1h or longer within {tol} of the exact ratio at every sampled instant, "
        f"{stored_phrase(lead)}: " + ("**met**." if not misses else f"**NOT met** ({', '.join(misses)}).")
    ]
    if naive:
        lines.append(
            "- No sloforge window worse than naive's max and median error: "
            + ("**met**." if not worse else f"**NOT met** ({', '.join(worse)}).")
        )
    return lines


def cost_ceiling(ours: RunResult, naive: RunResult) -> list[str]:
    """How far below naive any rule set can get while it reads the raw counters every minute.

    Naive's 5m ratio is its one read of the raw counters over the shortest
    window, with `rate`: the least a rule set that pages within minutes must
    also read each minute. Naive divided by it is the best ratio any such rule
    set could reach, were all its other rules free.
    """
    floor = naive.per_rule.get(f"{L.ERROR_RATIO}5m", 0.0)
    raw = sum(ours.per_rule.get(f"{name}5m", 0.0) for name in (L.ERRORS_RATE, L.TOTAL_RATE))
    if not floor or not raw:
        return []
    rest = sum(ours.per_rule.values()) - raw
    naive_total = sum(naive.per_rule.values())
    return [
        f"- The ceiling for any rule set that reads the raw counters each minute: naive's own 5m read of them "
        f"(`{L.ERROR_RATIO}5m`, `rate` over errors and total) takes {floor:.4f} s per minute, 1/"
        f"{ratio(naive_total, floor):.0f} of naive's {naive_total:.4f} s. A rule set made of that read alone would "
        f"be at most **{ratio(naive_total, floor):.0f}x** cheaper than naive.",
        f"- sloforge's exact raw reads (`{L.ERRORS_RATE}5m`, `{L.TOTAL_RATE}5m`) take {raw:.4f} s per minute, "
        f"{ratio(raw, floor):.1f}x naive's `rate` read; all its other rules together {rest:.4f} s "
        f"(naive / those: {ratio(naive_total, rest):.1f}x).",
    ]


def eval_section(result: EvalResult) -> list[str]:
    cfg, synth, prep = result.config, result.synth, result.prep
    runs = {run.name: run for run in result.runs}
    names = [name for name in ("sloforge", "naive", "pyrra") if name in runs]
    ours = runs["sloforge"]
    lines = [
        TITLES[2],
        "",
        f"**Scale: {cfg.slos} SLOs x {synth.series_per_slo} raw series** ({synth.pods} pods x 5 status codes), one "
        f"sample per {synth.step}s, {cfg.days} days of history plus {feed_phrase(cfg.feed_lead)} "
        f"{prep.raw_samples:,} raw samples and "
        f"{prep.recorded_samples:,} samples of sloforge's recorded series (every rung of the ladder: the 5m rates and "
        f"the 30m, 1h, 2h, 6h, 1d and 3d rungs, errors and totals, and the 5m ratio), computed from the synthetic "
        f"counters in {prep.rules_seconds:.0f} s and backfilled together with `promtool tsdb create-blocks-from "
        f"openmetrics` ({prep.raw_seconds:.0f} s); compaction {prep.settle_seconds:.0f} s, TSDB "
        f"{mib(prep.data_bytes)}. Rules evaluated every 1m (Pyrra-shaped: its own intervals, 30s for burn rates and "
        f"2m30s for the 30d increase); {cfg.warmup_cycles} warm-up minutes, then {cfg.cycles} measured minutes per "
        "rule set, one rule set after the other on the same data.",
        "",
        *_cost_table(result, names),
        "",
    ]
    for name in names[1:]:
        other = runs[name]
        time_ratio = ratio(other.median_cycle, ours.median_cycle)
        verdict = "met" if time_ratio >= COST_TARGET else "NOT met"
        lines.append(
            f"- {name} / sloforge: **{time_ratio:.1f}x** evaluation time, "
            f"{ratio(other.samples_per_cycle, ours.samples_per_cycle):.1f}x samples per minute"
            + (
                f" (target: sloforge at least {COST_TARGET:g}x cheaper than naive: **{verdict}**)."
                if name == "naive"
                else "."
            )
        )
    if "naive" in runs:
        lines += cost_ceiling(ours, runs["naive"])
    lines += ["", "Where the time goes (one table per rule set):", ""]
    for name in names:
        lines += _where_time_goes(runs[name])
    instants = len({round(c.at / 60) for c in ours.checks})
    lines += [
        f"**Accuracy** against the exact ratio of the generated counters over (t - w, t] at each rule's evaluation "
        f"time t (relative error; {cfg.slos} SLOs, measured at the last 3 minutes of each run, {instants} "
        f"distinct evaluation minutes for sloforge; > {TOLERANCE * 100:g}% counted):",
        "",
    ]
    if "naive" in runs:
        naive_w = errors_by_window(runs["naive"].checks)
        lines += [
            f"| window | sloforge max | sloforge median | sloforge > {TOLERANCE * 100:g}% | naive max | naive median | "
            f"naive > {TOLERANCE * 100:g}% |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for window, errors in errors_by_window(ours.checks).items():
            theirs = naive_w.get(window)
            lines.append(
                f"| {window} | {_accuracy_rows(errors)} | {_accuracy_rows(theirs) if theirs else '- | - | -'} |"
            )
    else:
        lines += ["| window | sloforge max | sloforge median | over |", "|---|---:|---:|---:|"]
        for window, errors in errors_by_window(ours.checks).items():
            lines.append(f"| {window} | {_accuracy_rows(errors)} |")
    if "pyrra" in runs:
        lines += [
            "",
            "Pyrra-shaped windows (its 28d windows scaled to 30d; 30d from its `increase` rule):",
            "",
            f"| window | pyrra max | pyrra median | pyrra > {TOLERANCE * 100:g}% |",
            "|---|---:|---:|---:|",
        ]
        for window, errors in errors_by_window(runs["pyrra"].checks).items():
            lines.append(f"| {window} | {_accuracy_rows(errors)} |")
    lines += ["", *accuracy_verdict(ours, runs.get("naive"), cfg.feed_lead), ""]
    if "naive" in runs:
        lines += _worst_naive_period(runs["naive"])
    lines += [*_worst(ours, LONG_MS), "", *getattr(result, "diagnosis", []), *_notes(result), ""]
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


def _worst(run: RunResult, min_ms: int = 0) -> list[str]:
    checks = [c for c in run.checks if parse_duration(c.window).millis >= min_ms]
    worst = sorted(checks, key=lambda c: c.error, reverse=True)[:5]
    scope = f" in windows of {format_duration(min_ms)} and longer" if min_ms else ""
    lines = [
        f"Largest {run.name} errors{scope} (window, exact ratio, recorded ratio):",
        "",
        "| SLO | window | evaluated at | exact | recorded | relative error |",
        "|---|---|---|---:|---:|---:|",
    ]
    for c in worst:
        truth = "n/a" if c.truth is None else f"{c.truth:.6f}"
        at = time.strftime("%H:%M:%S", time.gmtime(c.at))
        lines.append(f"| {c.key[0]}/{c.key[1]} | {c.window} | {at} | {truth} | {c.value:.6f} | {pct(c.error)} |")
    return lines


def _notes(result: EvalResult) -> list[str]:
    prep = result.prep
    notes = [
        f"Backfill stages: {'; '.join(prep.stages)}.",
        f"The backfilled recorded series were checked against sloforge's rendered expressions on a Prometheus over "
        f"the backfilled TSDB ({prep.verified} values: every backfilled rule of the first SLO groups, at three past "
        f"instants): largest relative difference {prep.backfill_error:.1e}.",
    ]
    if getattr(result, "redated", False):
        notes.append(
            "This run read each check's time with `timestamp()` of a `label_replace` (the query's time, not the "
            "rule's); the checks were re-dated afterwards to each group's last evaluation before the query, from "
            "Prometheus 2.x group offsets (`bench/xxh.py`, equal to the offsets of every live 5m sample), and the "
            "exact ratios recomputed (the bench reads the samples' own times now)."
        )
    if prep.gap_seconds:
        notes.append(f"The backfill ended {prep.gap_seconds:.0f}s late: a gap in the recorded history.")
    for run in result.runs:
        notes.append(
            f"{run.name}: {run.missed_iterations:g} missed group iterations, {run.failures:g} rule evaluation "
            f"failures, {run.compactions_during:g} compactions during the measured cycles; seconds per minute "
            + ", ".join(f"{s:.4f}" for s in run.cycle_seconds)
            + "."
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

    def fresh_section(title: str) -> list[str]:
        section = fresh[title]
        return [section[0], "", f"_{stamp}_" if stamp else "", *section[1:]]

    # Sections keep the previous report's order; other sections (written by other benches) are kept as they were.
    for title in old:
        lines += fresh_section(title) if title in fresh else [old[title], ""]
    for title in TITLES:
        if title in fresh and title not in old:
            lines += fresh_section(title)
    return "\n".join(lines).rstrip() + "\n"
