"""Why a sloforge window differs from the exact ratio: replay its tiles from what Prometheus recorded.

A sloforge window is a sum of lookups up its ladder (docs/windows.md). The
backfilled rungs are exact (checked against the rendered expressions); the
rungs recorded live are built from live 5m rates, which Prometheus computed
at the group's evaluation time, off the 1-minute sample grid. This module
replays every checked window from (a) the live 5m rates Prometheus recorded
and the backfilled history, with Prometheus's lookup semantics (newest
sample at or before the lookup, at most 5m old, a missing one counts as 0):
if that reproduces the recorded value, the rule shape did what it should and
the whole error comes from the live 5m tiles; and (b) the same with each live
5m tile replaced by the exact 5m rate at its grid minute: the error the
windows would have if `rate(raw[5m])` saw the whole 5 minutes.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from bench.evaluation import EvalResult
from bench.recorded import Rung, base_rates, rung_plan, rung_values
from bench.specs import eval_specs, write_specs
from bench.synth import SLOCounters, SynthConfig, all_counters, shapes
from generator.model.windows import LOOKBACK_MS, tiling
from generator.pipeline import load_model
from generator.units.durations import parse_duration

LONG_MS = 3_600_000


@dataclass
class Diagnosis:
    live_tiles: int = 0  # live 5m samples (errors and totals) compared
    live_total_error: list[float] = field(default_factory=list)  # relative error of live 5m totals vs the exact 5m rate
    live_errors_error: list[float] = field(default_factory=list)
    four_minute_share: float = 0.0  # share of live 5m totals equal to the 4-minute increase / 240 s
    replayed: int = 0  # checks replayed
    replay_gap: float = 0.0  # largest relative difference between the replay and the recorded value
    exact_tile_error: dict[str, list[float]] = field(default_factory=dict)  # window -> errors with exact live tiles
    first_live: dict[str, float] = field(
        default_factory=dict
    )  # SLO -> seconds between backfill end and first live tile


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else (0.0 if a == 0 else math.inf)


class _Replay:
    def __init__(self, slo: SLOCounters, synth: SynthConfig, plan: list[Rung], backfill_end: int, first: int, live):
        self.synth, self.plan, self.end_k = synth, plan, synth.index_at(backfill_end)
        self.by_ms = {rung.millis: rung for rung in plan}
        self.base_ms = plan[0].millis
        errors, total = base_rates(slo, synth, self.base_ms)
        errors[:first], total[:first] = np.nan, np.nan
        self.history = {self.base_ms: (errors, total)}
        for rung in plan[1:]:
            lower = self.history[rung.lower_ms]
            self.history[rung.millis] = tuple(  # type: ignore[assignment]
                rung_values(series, rung.lower_ms, rung.count, synth, first) for series in lower
            )
        # off the grid: evaluated live (times in ms, so offsets add up exactly)
        self.live = {round(t * 1000): (e, tot) for t, e, tot in live if t % synth.step}
        self.t0 = min(self.live) if self.live else 2**62
        self.cache: dict[tuple[int, int], tuple[float, float]] = {}

    def lookup(self, millis: int, at: int) -> tuple[float, float]:
        """The rung's (errors, total) Prometheus finds at `at` (ms): newest sample at or before it, at most 5m old."""
        if at >= self.t0:
            return self.value(millis, self.t0 + (at - self.t0) // 60_000 * 60_000)
        k = min(max(0, (at - self.synth.start * 1000) // (self.synth.step * 1000)), self.end_k)
        if at - self.synth.time_of(k) * 1000 > LOOKBACK_MS:
            return (0.0, 0.0)
        e, tot = (float(a[k]) for a in self.history[millis])
        return (0.0 if math.isnan(e) else e, 0.0 if math.isnan(tot) else tot)

    def value(self, millis: int, t: int) -> tuple[float, float]:
        """A rung's value recorded live at evaluation time t (ms)."""
        if (millis, t) in self.cache:
            return self.cache[(millis, t)]
        if millis == self.base_ms:
            found = self.live.get(t, (0.0, 0.0))
        else:
            rung = self.by_ms[millis]
            e = tot = 0.0
            for j in range(rung.count):
                le, lt = self.lookup(rung.lower_ms, t - j * rung.lower_ms)
                e, tot = e + le, tot + lt
            found = (e / rung.count, tot / rung.count)
        self.cache[(millis, t)] = found
        return found

    def window(self, window_ms: int, at: float) -> float:
        t = round(at * 1000)
        if window_ms in self.by_ms:
            e, tot = self.value(window_ms, t)
        else:
            plan = tiling(window_ms, self.base_ms)
            assert plan is not None
            e = tot = 0.0
            for j in range(plan.count):
                le, lt = self.lookup(plan.rung_ms, t - j * plan.rung_ms)
                e, tot = e + le, tot + lt
        return e / tot if tot > 0 else math.nan


def diagnose(result: EvalResult, work: Path) -> Diagnosis:
    """Replay sloforge's checked windows (see the module doc); `work` is a scratch directory for the specs."""
    synth = result.synth
    runs = {run.name: run for run in result.runs}
    ours = runs.get("sloforge")
    out = Diagnosis()
    if ours is None or not ours.live_5m:
        return out
    slos = {slo.shape.key: slo for slo in all_counters(synth)}
    model = load_model(write_specs(eval_specs(shapes(synth)), work))
    plans = {(slo.service, slo.name): rung_plan(slo) for slo in model.slos}
    first = synth.index_at(synth.start + 600)
    four = []
    exact_live: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for key, samples in ours.live_5m.items():
        slo = slos[key]
        e5, t5 = base_rates(slo, synth, 300_000)
        e4, t4 = base_rates(slo, synth, 240_000)
        fixed = []
        for t, e, tot in samples:
            if not t % synth.step:
                fixed.append((t, e, tot))
                continue
            k = synth.index_at(t)
            out.live_tiles += 1
            out.live_total_error.append(_rel(tot, float(t5[k])))
            out.live_errors_error.append(_rel(e, float(e5[k])))
            four.append(_rel(tot, float(t4[k])) < 1e-9)
            fixed.append((t, float(e5[k]), float(t5[k])))
        exact_live[key] = fixed
        live = [t for t, _, _ in samples if t % synth.step]
        if live:
            out.first_live[f"{key[0]}/{key[1]}"] = min(live) - result.prep.backfill_end
    out.four_minute_share = sum(four) / len(four) if four else 0.0
    replays = {
        key: (
            _Replay(slos[key], synth, plans[key], result.prep.backfill_end, first, ours.live_5m[key]),
            _Replay(slos[key], synth, plans[key], result.prep.backfill_end, first, exact_live[key]),
        )
        for key in ours.live_5m
    }
    for check in ours.checks:
        window_ms = parse_duration(check.window).millis
        if window_ms <= 300_000 or check.key not in replays or check.truth is None:
            continue
        as_recorded, exact = replays[check.key]
        replayed = as_recorded.window(window_ms, check.at)
        out.replayed += 1
        out.replay_gap = max(out.replay_gap, _rel(replayed, check.value))
        out.exact_tile_error.setdefault(check.window, []).append(_rel(exact.window(window_ms, check.at), check.truth))
    return out


def summary(d: Diagnosis) -> list[str]:
    if not d.live_tiles:
        return []
    tol = 0.005
    lines = [
        "**The live tiles** (`bench/tiles.py`: every checked window replayed from the 5m rates "
        "Prometheus recorded live and the backfilled history, with Prometheus's lookup semantics):",
        "",
        (
            f"- The replay reproduces the recorded windows: {d.replayed} values, largest relative difference "
            f"{d.replay_gap:.1e}. So the ladder did what it should: any error is in the 5m tiles it was given."
            if d.replay_gap < 1e-9
            else f"- The replay does not fully reproduce the recorded windows ({d.replayed} values, largest relative "
            f"difference {d.replay_gap:.1e}): some lookups found other samples than the model assumes."
        ),
    ]
    worst = max(max(d.live_total_error), max(d.live_errors_error))
    if worst < 1e-9:
        lines += [
            f"- The live 5m tiles are the exact 5m rates: over {d.live_tiles} live evaluations, the 5m total and error "
            "rates equal the counters' increase over the 5 minutes before the evaluation / 300 s (largest relative "
            f"difference {worst:.1e}). Each counter is read between its samples at the tile's ends (`x - x offset 5m`, "
            "docs/windows.md), so the evaluation's offset from the 1-minute sample grid does not matter.",
            "",
        ]
        return [*lines, *_first_live(d)]
    lines += [
        f"- The live 5m tiles are not the exact 5m rates: over {d.live_tiles} live evaluations, the 5m total rate is "
        f"off by {statistics.median(d.live_total_error) * 100:.2f}% at the median and up to "
        f"{max(d.live_total_error) * 100:.2f}%, the 5m error rate by {statistics.median(d.live_errors_error) * 100:.2f}% "
        f"(median) and up to {max(d.live_errors_error) * 100:.2f}%; {d.four_minute_share * 100:.0f}% of them equal "
        "the increase over the 4 minutes before the evaluation / 240 s (what `rate(raw[5m])` reads off the sample "
        "grid). A tile misses part of its 5 minutes when the evaluation falls between samples and the read is "
        "`rate`, or when a sample stamped before the evaluation is stored after it (an exporter's own timestamps, "
        "remote write): the tile then ends a sample early (docs/windows.md). Backfilled tiles (computed on the grid) "
        "are exact.",
        "- With each live 5m tile replaced by the exact 5m rate of its minute, the same replay gives (relative error "
        "against the exact ratio, per window):",
        "",
        f"| window | max | median | > {tol * 100:g}% |",
        "|---|---:|---:|---:|",
    ]
    for window, errors in sorted(d.exact_tile_error.items(), key=lambda item: parse_duration(item[0]).millis):
        lines.append(
            f"| {window} | {max(errors) * 100:.2f}% | {statistics.median(errors) * 100:.2f}% | "
            f"{sum(e > tol for e in errors)}/{len(errors)} |"
        )
    return [*lines, "", *_first_live(d)]


def _first_live(d: Diagnosis) -> list[str]:
    gaps = sorted(d.first_live.values())
    return [
        f"- First live evaluation {gaps[0]:.0f} to {gaps[-1]:.0f} s after the last backfilled sample (the replay "
        "covers that hand-over too).",
        "",
    ]


SELECTOR = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\{")


def selectors(rules: Path) -> tuple[int, int]:
    """(vector selectors, rules) in a rule directory: each selector is a series lookup with a fixed cost."""
    count = rules_seen = 0
    for path in sorted(rules.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                count += len(SELECTOR.findall(rule["expr"]))
                rules_seen += 1
    return count, rules_seen


def selector_costs(result: EvalResult, rule_root: Path) -> list[str]:
    """Evaluation time per selector: where a rule set's time goes when it reads few samples."""
    lines = [
        "**Cost per selector** (vector selectors counted in the rule files; each is an index lookup and a "
        "series iterator, whatever it reads; time per minute / selector evaluations per minute):",
        "",
        "| rule set | selectors per minute | per SLO | eval time per selector | samples per selector |",
        "|---|---:|---:|---:|---:|",
    ]
    slos = result.config.slos
    for run in result.runs:
        found, _ = selectors(rule_root / run.name)
        # Pyrra's groups run at other intervals: weigh each rule file's selectors by its group's evaluations.
        per_minute = selectors_per_minute(rule_root / run.name) if run.name == "pyrra" else found
        if not per_minute:
            continue
        lines.append(
            f"| {run.name} | {per_minute:,.0f} | {per_minute / slos:,.0f} | "
            f"{run.median_cycle / per_minute * 1e6:,.0f} µs | {run.samples_per_cycle / per_minute:,.0f} |"
        )
    return [*lines, ""]


def selectors_per_minute(rules: Path) -> float:
    total = 0.0
    for path in sorted(rules.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            scale = 60_000 / parse_duration(group.get("interval", "1m")).millis
            total += scale * sum(len(SELECTOR.findall(rule["expr"])) for rule in group["rules"])
    return total
