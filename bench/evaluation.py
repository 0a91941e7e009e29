"""Rule evaluation cost and correctness: sloforge's rules vs naive and Pyrra-shaped rules on a real Prometheus.

Flow: synthetic counters, and the 30-day history of every recorded series
sloforge's windows look up (its ladder's rungs, computed in `bench.recorded`)
-> promtool backfill (openmetrics) up to a moment a little in the future ->
wait for that moment -> a Prometheus scrapes the next samples live (served
ahead of time by default: `EvalConfig.feed_lead`, bench/exporter.py) while it
evaluates sloforge's rules, then (same data) the naive rules, then the
Pyrra-shaped rules. Each run reports the rule evaluation time per minute
(per rule from /api/v1/rules), samples loaded per minute, peak RSS, and
every window's error ratio against the exact ratio of the generated counters.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from bench import exporter, prom, recorded
from bench.naive import render_naive
from bench.pyrra import INCREASE_RECORD, render_pyrra
from bench.specs import eval_specs, write_specs
from bench.synth import (
    BLOCK,
    DAY,
    SLOCounters,
    SynthConfig,
    all_counters,
    block_chunks,
    exact_ratio,
    openmetrics_chunk,
    series_prefixes,
    shapes,
)
from generator.pipeline import load_model
from generator.targets import render_all
from generator.targets.rules import RULES_DIR
from generator.units.durations import parse_duration

Log = Callable[[str], None]
TOLERANCE = 0.005  # relative error allowed against the exact ratio (issue 11: 0.5% for windows of 1h and longer)
RULE_SETS = ("sloforge", "naive", "pyrra")  # sloforge first: its recorded history must not have a gap
VERIFY_SLOS = 5  # SLOs whose backfilled recorded series are checked against the rendered expressions


@dataclass(frozen=True)
class EvalConfig:
    slos: int = 100
    pods: int = 50
    days: int = 30
    step: int = 60
    warmup_cycles: int = 2
    cycles: int = 5
    horizon: int = 8 * 3600  # the synthetic data runs this far past the start, for the live part
    seed: int = 7
    feed_lead: int = exporter.LEAD  # seconds the live feed serves a sample before its timestamp (< 0: after)


@dataclass
class Check:
    key: tuple[str, str]
    window: str
    at: float
    value: float
    truth: float | None

    @property
    def error(self) -> float:
        if self.truth is None or self.truth == 0:
            return 0.0 if self.value == 0 else float("inf")
        return abs(self.value - self.truth) / self.truth


@dataclass
class RunResult:
    name: str
    cycle_seconds: list[float]  # rule evaluation seconds per minute, one per measured minute
    samples_per_cycle: int  # samples loaded per minute of evaluation
    rules: int
    groups: int
    peak_rss: int
    cpu_per_minute: float
    missed_iterations: float
    failures: float
    compactions_during: float
    checks: list[Check] = field(default_factory=list)
    per_rule: dict[str, float] = field(default_factory=dict)  # rule (record or alert name) -> seconds per minute
    per_rule_samples: dict[str, int] = field(default_factory=dict)  # rule -> samples per minute
    intervals: dict[str, int] = field(default_factory=dict)  # group interval -> number of groups
    loads: list[float] = field(default_factory=list)  # 1-minute load average at each measured cycle
    # sloforge: the recorded 5m rates of the last 20 minutes per SLO, [(timestamp, errors, total)], to tell
    # live tiles (evaluated off the sample grid) from backfilled ones
    live_5m: dict[tuple[str, str], list[tuple[float, float, float]]] = field(default_factory=dict)

    @property
    def median_cycle(self) -> float:
        return statistics.median(self.cycle_seconds)


@dataclass
class Prep:
    raw_samples: int
    raw_seconds: float
    rules_seconds: float  # computing the recorded series' history in Python
    settle_seconds: float
    stages: list[str]
    data_bytes: int
    gap_seconds: float
    backfill_error: float  # backfilled recorded series vs sloforge's rendered expressions
    recorded_samples: int = 0
    verified: int = 0  # values compared in that check
    load: str = ""
    backfill_end: int = 0  # time of the last backfilled grid sample


@dataclass
class EvalResult:
    config: EvalConfig
    synth: SynthConfig
    prep: Prep
    runs: list[RunResult]
    diagnosis: list[str] = field(default_factory=list)  # report lines from bench.tiles
    retimed: bool = True  # checks carry the rules' evaluation times (runs before this field: query times)
    redated: bool = False  # the checks' times were recovered from the group offsets (see `retime`)


def run(config: EvalConfig, work: Path, log: Log) -> EvalResult:
    for tool in ("promtool", "prometheus"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} is not installed: `make tools`")
    now = time.time()
    start = int((now - config.days * DAY - 3 * 3600) // BLOCK * BLOCK)
    synth = SynthConfig(
        slos=config.slos,
        pods=config.pods,
        start=start,
        steps=(int(now) + config.horizon - start) // config.step + 1,
        step=config.step,
        seed=config.seed,
    )
    log(f"generating {synth.slos} SLOs x {synth.series_per_slo} series, {synth.steps} samples each")
    slos = all_counters(synth)
    if work.exists():
        shutil.rmtree(work)
    data = work / "data"
    data.mkdir(parents=True)
    model = load_model(write_specs(eval_specs(shapes(synth)), work / "specs"))
    rule_dirs = {
        "sloforge": _write_rules(work / "rules" / "sloforge", _ours(render_all(model))),
        "naive": _write_rules(work / "rules" / "naive", render_naive(model)),
        "pyrra": _write_rules(work / "rules" / "pyrra", render_pyrra(model, pyrra_intervals=True)),
    }
    t0 = time.monotonic()
    first = synth.index_at(synth.start + 600)  # the recorded series start here, as if the rules ran from then
    history = recorded.all_history(slos, synth, model, first)
    history_seconds = time.monotonic() - t0
    log(f"recorded history: {len(history)} series computed in {history_seconds:.1f}s")
    prep = _backfill(synth, slos, history, first, work, data, rule_dirs["sloforge"], log)
    prep.rules_seconds = history_seconds
    feed = exporter.Feed(synth, slos, lead=config.feed_lead)
    runs = []
    with exporter.serving(feed) as target:
        for name in RULE_SETS:
            runs.append(_measure(name, rule_dirs[name], data, target, work, config, synth, slos, log))
    prep.data_bytes = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    return EvalResult(config, synth, prep, runs)


def _ours(tree: dict[str, str]) -> dict[str, str]:
    prefix = RULES_DIR + "/"
    return {path[len(prefix) :]: text for path, text in tree.items() if path.startswith(prefix)}


def _write_rules(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _backfill(
    synth: SynthConfig,
    slos: list[SLOCounters],
    history: dict[str, np.ndarray],
    first: int,
    work: Path,
    data: Path,
    rules: Path,
    log: Log,
) -> Prep:
    """Backfill raw and recorded history in stages until the data reaches a moment still ahead of us.

    The first stage backfills up to now (the bulk); each further stage covers
    the time the previous one took plus a margin, so it ends in the future.
    We then wait for that moment, and the live feed and live rule evaluation
    continue the series without a gap.
    """
    prefixes = [series_prefixes(synth, slo) for slo in slos]
    raw_seconds = settle_seconds = backfill_error = 0.0
    verified = 0
    done = -1  # last backfilled grid index
    target_k = synth.index_at(time.time())
    stages, loads = [], []
    while True:
        began = time.time()
        loads.append(os.getloadavg()[0])
        t0 = time.monotonic()
        _ingest(synth, slos, prefixes, history, first, done + 1, target_k, work, data, log)
        raw_seconds += time.monotonic() - t0
        if done < 0:  # the bulk: let Prometheus compact it now, not while we measure
            t0 = time.monotonic()
            with prom.running(
                data, prom.write_config(work / "settle.yml", None, None), work / "logs" / "settle.log"
            ) as server:
                waited = prom.settle(server)
                settle_seconds += time.monotonic() - t0
                log(f"compaction settled after {waited:.0f}s")
                backfill_error, verified = _verify_history(server, rules, history, synth, synth.time_of(target_k))
                log(
                    f"backfilled recorded series vs rendered expressions: {verified} values, max relative difference {backfill_error:.2e}"
                )
        stages.append(
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(synth.time_of(done + 1)))} to "
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(synth.time_of(target_k)))} UTC "
            f"took {time.time() - began:.0f}s"
        )
        log(f"stage {len(stages)}: {stages[-1]}")
        done = target_k
        if time.time() < synth.time_of(target_k):
            break
        # A stage's work grows with the time it covers; the fixed part dominates the tail.
        target_k = synth.index_at(time.time() + 60 + 0.05 * (time.time() - began)) + 1
        if target_k >= synth.steps - 1:
            raise RuntimeError("backfill is slower than the synthetic horizon; raise EvalConfig.horizon")
    wait = synth.time_of(done) - time.time() + 1
    if wait > 0:
        log(f"waiting {wait:.0f}s for the backfilled data to become the present")
        time.sleep(wait)
    return Prep(
        raw_samples=(done + 1) * synth.slos * synth.series_per_slo,
        raw_seconds=raw_seconds,
        rules_seconds=0.0,
        settle_seconds=settle_seconds,
        stages=stages,
        data_bytes=0,
        gap_seconds=max(0.0, -wait),
        backfill_error=backfill_error,
        recorded_samples=sum(int(np.count_nonzero(~np.isnan(v[: done + 1]))) for v in history.values()),
        verified=verified,
        load=f"{min(loads):.1f} to {max(loads):.1f}",
        backfill_end=synth.time_of(done),
    )


def _verify_history(
    server: prom.Prometheus, rules: Path, history: dict[str, np.ndarray], synth: SynthConfig, end: int
) -> tuple[float, int]:
    """Every backfilled series must hold what sloforge's rendered expression computes from the rung below, at past instants."""
    worst, compared, groups = 0.0, 0, 0
    instants = [
        synth.time_of(synth.index_at(at))
        for at in (synth.start + 3 * DAY + 7 * 60, (synth.start + end) // 2, end - 3600)
    ]
    for path in sorted(rules.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            if groups >= VERIFY_SLOS:
                return worst, compared
            groups += 1
            for rule in group["rules"]:
                labels = rule.get("labels", {})
                key = f'{rule.get("record")}{{slo_service="{labels.get("slo_service")}",slo_name="{labels.get("slo_name")}",slo_window="{labels.get("slo_window")}"}}'
                if key not in history:
                    continue
                for at in instants:
                    want = server.query(rule["expr"], at)["result"]
                    got = server.query(key, at)["result"]
                    stored = history[key][synth.index_at(at)]
                    if len(want) != 1 or len(got) != 1:
                        raise RuntimeError(f"backfill check at {at}: {rule['expr']} -> {want}, {key} -> {got}")
                    a, b = float(want[0]["value"][1]), float(got[0]["value"][1])
                    if abs(b - stored) > 1e-12 * abs(stored):
                        raise RuntimeError(f"backfill check at {at}: {key} stored {stored}, read back {b}")
                    worst = max(worst, abs(a - b) / abs(a) if a else abs(b))
                    compared += 1
    return worst, compared


def _ingest(
    synth,
    slos,
    prefixes,
    history: dict[str, np.ndarray],
    first: int,
    a0: int,
    last: int,
    work: Path,
    data: Path,
    log: Log,
) -> None:
    """Write 2h-aligned OpenMetrics chunks (raw and recorded series) and backfill them; the next chunk is written while promtool works."""
    chunk_dir = work / "openmetrics"
    chunk_dir.mkdir(exist_ok=True)
    pending: tuple[subprocess.Popen, Path] | None = None
    chunks = block_chunks(synth, a0, last)
    for number, (a, b) in enumerate(chunks, 1):
        path = chunk_dir / f"{a:08d}.om"
        raw = openmetrics_chunk(synth, slos, prefixes, a, b)
        assert raw.endswith("# EOF\n")
        rec = recorded.openmetrics_lines(history, synth, max(a, first), b) if b >= first else ""
        path.write_text(raw[: -len("# EOF\n")] + rec + "# EOF\n", encoding="utf-8")
        if pending:
            _finish(*pending)
        process = subprocess.Popen(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        pending = (process, path)
        if number % 24 == 0 or number == len(chunks):
            log(f"backfill: chunk {number}/{len(chunks)}")
    if pending:
        _finish(*pending)


def _finish(process: subprocess.Popen, path: Path) -> None:
    output, _ = process.communicate()
    path.unlink()
    if process.returncode:
        raise RuntimeError(f"promtool openmetrics backfill of {path.name} failed: {output.decode()[-2000:]}")


def _rules_api(server: prom.Prometheus) -> list[dict]:
    return json.loads(server.get("/api/v1/rules"))["data"]["groups"]


def per_minute(groups: list[dict]) -> tuple[float, dict[str, float]]:
    """Rule evaluation seconds per minute (each group's last evaluation x its evaluations per minute), and per rule."""
    total, by_rule = 0.0, dict[str, float]()
    for group in groups:
        scale = 60.0 / float(group["interval"])
        total += float(group["evaluationTime"]) * scale
        for rule in group["rules"]:
            name = rule["name"]
            by_rule[name] = by_rule.get(name, 0.0) + float(rule["evaluationTime"]) * scale
    return total, by_rule


def _measure(
    name: str,
    rules: Path,
    data: Path,
    target: str,
    work: Path,
    config: EvalConfig,
    synth: SynthConfig,
    slos: list[SLOCounters],
    log: Log,
) -> RunResult:
    conf = prom.write_config(work / f"{name}.yml", str(rules / "*.yaml"), target)
    by_key = {slo.shape.key: slo for slo in slos}
    with prom.running(data, conf, work / "logs" / f"{name}.log") as server:
        log(f"{name}: prometheus up at {server.url}; {config.warmup_cycles} warm-up cycles")
        time.sleep(config.warmup_cycles * 60 + 5)
        before = server.metrics()
        cpu_before, t_before = server.cpu_seconds(), time.monotonic()
        cycles: list[float] = []
        checks: list[Check] = []
        rule_sums: dict[str, float] = {}
        loads: list[float] = []
        for cycle in range(config.cycles):
            loads.append(os.getloadavg()[0])
            seconds, by_rule = per_minute(_rules_api(server))
            cycles.append(seconds)
            for rule, value in by_rule.items():
                rule_sums[rule] = rule_sums.get(rule, 0.0) + value
            if cycle >= config.cycles - 3:
                checks += CHECKS[name](server, synth, by_key)
            log(f"{name}: cycle {cycle + 1}/{config.cycles}: rules took {cycles[-1]:.3f}s per minute")
            time.sleep(60)
        live = {}
        if name == "sloforge":
            try:
                live = _live_5m(server)
            except (RuntimeError, KeyError, ValueError, OSError) as error:  # a diagnostic: never lose the run for it
                log(f"live 5m samples not read: {error!r}")
        after = server.metrics()
        cpu = (server.cpu_seconds() - cpu_before) / ((time.monotonic() - t_before) / 60)
        samples, per_rule_samples, rule_count, groups, intervals = _samples_per_minute(server, rules)
        rss = server.peak_rss_bytes()
    delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    return RunResult(
        name=name,
        cycle_seconds=cycles,
        samples_per_cycle=samples,
        rules=rule_count,
        groups=groups,
        peak_rss=rss,
        cpu_per_minute=cpu,
        missed_iterations=delta.get("prometheus_rule_group_iterations_missed_total", 0.0),
        failures=delta.get("prometheus_rule_evaluation_failures_total", 0.0),
        compactions_during=delta.get("prometheus_tsdb_compactions_total", 0.0),
        checks=checks,
        per_rule={rule: value / len(cycles) for rule, value in rule_sums.items()},
        per_rule_samples=per_rule_samples,
        intervals=intervals,
        loads=loads,
        live_5m=live,
    )


def _live_5m(server: prom.Prometheus) -> dict[tuple[str, str], list[tuple[float, float, float]]]:
    found: dict[tuple[str, str], dict[float, list[float]]] = {}
    for index, name in enumerate(("slo:sli_errors:rate5m", "slo:sli_total:rate5m")):
        for row in server.query(f"{name}[20m]", time.time())["result"]:
            key = (row["metric"]["slo_service"], row["metric"]["slo_name"])
            for stamp, value in row["values"]:
                found.setdefault(key, {}).setdefault(float(stamp), [0.0, 0.0])[index] = float(value)
    return {key: sorted((t, v[0], v[1]) for t, v in samples.items()) for key, samples in found.items()}


def _truths(rows, synth: SynthConfig, by_key) -> list[Check]:
    result = []
    for key, window, evaluated, value in rows:
        truth = exact_ratio(by_key[key], synth, evaluated, int(parse_duration(window).seconds))
        result.append(Check(key, window, evaluated, value, truth))
    return result


def _ratio_rows(server: prom.Prometheus, selector: str, window_of: Callable[[dict], str]) -> list[tuple]:
    """(key, window, evaluation time, value) of every series `selector` matches now.

    `timestamp()` gives a sample's own time only when applied to a selector
    (of anything else it gives the query time), so it is read per metric name.
    """
    at = time.time()
    values = server.query(f'label_replace({selector}, "name", "$1", "__name__", "(.+)")', at)["result"]
    stamps = {}
    for name in sorted({row["metric"]["name"] for row in values}):
        for r in server.query(f"timestamp({name})", at)["result"]:
            stamps[_ident({**r["metric"], "name": name})] = float(r["value"][1])
    return [
        (
            (row["metric"]["slo_service"], row["metric"]["slo_name"]),
            window_of(row["metric"]),
            stamps[_ident(row["metric"])],
            float(row["value"][1]),
        )
        for row in values
    ]


def _ident(labels: dict[str, str]) -> tuple[str, ...]:
    return (labels["slo_service"], labels["slo_name"], labels.get("slo_window", ""), labels.get("name", ""))


def _check_ours(server: prom.Prometheus, synth: SynthConfig, by_key) -> list[Check]:
    """Every recorded error ratio now, against the exact ratio at the moment it was evaluated."""
    rows = _ratio_rows(server, '{__name__=~"slo:sli_error:ratio_rate.+"}', lambda m: m["slo_window"])
    return _truths(rows, synth, by_key)


def _check_pyrra(server: prom.Prometheus, synth: SynthConfig, by_key) -> list[Check]:
    """Pyrra's burn-rate series per window, and its SLO window from the grouped increase rule."""
    prefix = "slo:pyrra_burnrate"
    rows = _ratio_rows(server, f'{{__name__=~"{prefix}.+"}}', lambda m: m["name"][len(prefix) :])
    at = time.time()
    by = "sum by (slo_service, slo_name, slo_window)"
    ratio = f'{by} ({INCREASE_RECORD}30d{{code=~"5.."}}) / {by} ({INCREASE_RECORD}30d)'
    stamps = {
        _ident(r["metric"]): float(r["value"][1])
        for r in server.query(f"timestamp({INCREASE_RECORD}30d)", at)["result"]
    }
    for row in server.query(ratio, at)["result"]:
        labels = row["metric"]
        rows.append(
            (
                (labels["slo_service"], labels["slo_name"]),
                labels["slo_window"],
                stamps[_ident(labels)],
                float(row["value"][1]),
            )
        )
    return _truths(rows, synth, by_key)


CHECKS = {"sloforge": _check_ours, "naive": _check_ours, "pyrra": _check_pyrra}


def _samples_per_minute(server: prom.Prometheus, rules: Path) -> tuple[int, dict[str, int], int, int, dict[str, int]]:
    """Samples one minute of evaluation loads (each rule once per group evaluation), from the query engine's stats."""
    total = count = groups = 0
    by_rule: dict[str, int] = {}
    intervals: dict[str, int] = {}
    at = time.time()
    for path in sorted(rules.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            groups += 1
            interval = group.get("interval", "1m")
            intervals[interval] = intervals.get(interval, 0) + 1
            scale = 60_000 / parse_duration(interval).millis
            for rule in group["rules"]:
                stats = server.query(rule["expr"], at, stats=True).get("stats", {})
                samples = round(int(stats.get("samples", {}).get("totalQueryableSamples", 0)) * scale)
                name = rule.get("record") or rule["alert"]
                by_rule[name] = by_rule.get(name, 0) + samples
                total += samples
                count += 1
    return total, by_rule, count, groups, intervals


def retime(result: EvalResult, rules_root: Path) -> None:
    """Checks of a run whose times were the query's: move each to its group's last evaluation and recompute the truth.

    Prometheus 2.x evaluates a group at a fixed offset within its interval
    (`bench.xxh.group_offset_ms`, checked here against sloforge's live 5m
    samples), so the evaluation a query read is the last one at or before it.
    """
    from bench.xxh import group_offset_ms

    if result.retimed:
        return
    slos = {slo.shape.key: slo for slo in all_counters(result.synth)}
    for run in result.runs:
        groups = {}
        for path in sorted((rules_root / run.name).glob("*.yaml")):
            for group in yaml.safe_load(path.read_text())["groups"]:
                interval = parse_duration(group.get("interval", "1m")).millis
                groups[group["name"]] = (group_offset_ms(group["name"], str(path), interval), interval)
        for check in run.checks:
            name = f"sloforge-{check.key[0]}-{check.key[1]}"
            if run.name == "pyrra" and check.window == "30d":
                name += "-increase"
            offset, interval = groups[name]
            at_ms = round(check.at * 1000)
            check.at = (at_ms - (at_ms - offset) % interval) / 1000
            seconds = int(parse_duration(check.window).seconds)
            check.truth = exact_ratio(slos[check.key], result.synth, check.at, seconds)
        for key, samples in run.live_5m.items():  # the live samples' own times prove the offsets
            offset, interval = groups[f"sloforge-{key[0]}-{key[1]}"]
            for stamp, _, _ in samples:
                if (
                    stamp % 60
                    and abs((round(stamp * 1000) - offset) % interval) > 1
                    and abs((round(stamp * 1000) - offset) % interval - interval) > 1
                ):
                    raise RuntimeError(f"{key}: live sample at {stamp} is not at the group's offset {offset} ms")
    result.retimed = True
    result.redated = True
