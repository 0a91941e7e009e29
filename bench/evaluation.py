"""Rule evaluation cost and correctness: sloforge's rules vs naive rules on a real Prometheus.

Flow: synthetic counters -> promtool backfill (openmetrics, then recording
rules) up to a moment a little in the future -> wait for that moment -> a
Prometheus scrapes the newest samples live while it evaluates sloforge's rules,
then (same data) the naive rules. Each run reports the summed rule-group
evaluation time per cycle, samples loaded per cycle, peak RSS, and every
window's error ratio against the exact ratio of the generated counters.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import exporter, prom
from bench.naive import backfill_checks, backfill_rules, render_naive
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
TOLERANCE = 0.01  # relative error allowed against the exact ratio


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
    cycle_seconds: list[float]
    samples_per_cycle: int
    rules: int
    groups: int
    peak_rss: int
    cpu_per_minute: float
    missed_iterations: float
    failures: float
    compactions_during: float
    checks: list[Check] = field(default_factory=list)

    @property
    def median_cycle(self) -> float:
        return statistics.median(self.cycle_seconds)


@dataclass
class Prep:
    raw_samples: int
    raw_seconds: float
    rules_seconds: float
    settle_seconds: float
    stages: list[str]
    data_bytes: int
    gap_seconds: float
    backfill_error: float  # batched backfill rules vs sloforge's rendered expressions


@dataclass
class EvalResult:
    config: EvalConfig
    synth: SynthConfig
    prep: Prep
    runs: list[RunResult]


def run(config: EvalConfig, work: Path, log: Log) -> EvalResult:
    for tool in ("promtool",):
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
    }
    backfill = work / "backfill-rules.yaml"
    backfill.write_text(backfill_rules(model), encoding="utf-8")
    prep = _backfill(synth, slos, work, data, backfill, backfill_checks(model), log)
    feed = exporter.Feed(synth, slos)
    runs = []
    with exporter.serving(feed) as target:
        for name in ("sloforge", "naive"):  # sloforge first: its recorded history must not have a gap
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
    work: Path,
    data: Path,
    rules: Path,
    checks: list[tuple[str, str]],
    log: Log,
) -> Prep:
    """Backfill raw and recorded history in stages until the data reaches a moment still ahead of us.

    The first stage backfills up to now (the bulk); each further stage covers
    the time the previous one took plus a margin, so it ends in the future.
    We then wait for that moment, and the live feed and live rule evaluation
    continue the series without a gap.
    """
    prefixes = [series_prefixes(synth, slo) for slo in slos]
    raw_seconds = rules_seconds = settle_seconds = backfill_error = 0.0
    done = -1  # last backfilled grid index
    target_k = synth.index_at(time.time())
    stages = []
    while True:
        began = time.time()
        t0 = time.monotonic()
        _ingest_raw(synth, slos, prefixes, done + 1, target_k, work, data, log)
        raw_seconds += time.monotonic() - t0
        t0 = time.monotonic()
        rules_from = max(synth.time_of(done + 1), synth.start + 600)
        _backfill_rules(rules, rules_from, synth.time_of(target_k), work, data, log)
        rules_seconds += time.monotonic() - t0
        if done < 0:  # the bulk: let Prometheus compact it now, not while we measure
            t0 = time.monotonic()
            with prom.running(
                data, prom.write_config(work / "settle.yml", None, None), work / "logs" / "settle.log"
            ) as server:
                waited = prom.settle(server)
                settle_seconds += time.monotonic() - t0
                log(f"compaction settled after {waited:.0f}s")
                backfill_error = _verify_backfill(server, checks, synth, rules_from, synth.time_of(target_k))
                log(f"batched backfill vs rendered expressions: max relative difference {backfill_error:.2e}")
        stages.append(
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(synth.time_of(done + 1)))} to "
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(synth.time_of(target_k)))} UTC "
            f"took {time.time() - began:.0f}s"
        )
        log(f"stage {len(stages)}: {stages[-1]}")
        done = target_k
        if time.time() < synth.time_of(target_k):
            break
        # A stage's work grows with the time it covers; the fixed part (starting Prometheus) dominates the tail.
        target_k = synth.index_at(time.time() + 90 + 0.05 * (time.time() - began)) + 1
        if target_k >= synth.steps - 1:
            raise RuntimeError("backfill is slower than the synthetic horizon; raise EvalConfig.horizon")
    wait = synth.time_of(done) - time.time() + 1
    if wait > 0:
        log(f"waiting {wait:.0f}s for the backfilled data to become the present")
        time.sleep(wait)
    return Prep(
        raw_samples=(done + 1) * synth.slos * synth.series_per_slo,
        raw_seconds=raw_seconds,
        rules_seconds=rules_seconds,
        settle_seconds=settle_seconds,
        stages=stages,
        data_bytes=0,
        gap_seconds=max(0.0, -wait),
        backfill_error=backfill_error,
    )


def _verify_backfill(
    server: prom.Prometheus, checks: list[tuple[str, str]], synth: SynthConfig, start: int, end: int
) -> float:
    """The batched backfill rules must record what sloforge's rendered expressions compute, at past instants."""
    worst = 0.0
    for at in (start + 86400 - 60 * 7, (start + end) // 2 // 60 * 60, end - 3600):
        at = synth.time_of(synth.index_at(at))
        for expr, recorded in checks:
            got = server.query(recorded, at)["result"]
            # promtool evaluates at the group's own offset within the minute, as a server would.
            stamp = server.query(f"timestamp({recorded})", at)["result"]
            want = server.query(expr, float(stamp[0]["value"][1]))["result"] if stamp else []
            if len(want) != 1 or len(got) != 1:
                raise RuntimeError(f"backfill check at {at}: {expr} -> {want}, {recorded} -> {got}")
            a, b = float(want[0]["value"][1]), float(got[0]["value"][1])
            worst = max(worst, abs(a - b) / abs(a) if a else abs(b))
    return worst


def _ingest_raw(synth, slos, prefixes, first: int, last: int, work: Path, data: Path, log: Log) -> None:
    """Write 2h-aligned OpenMetrics chunks and backfill them; the next chunk is written while promtool works."""
    chunk_dir = work / "openmetrics"
    chunk_dir.mkdir(exist_ok=True)
    pending: tuple[subprocess.Popen, Path] | None = None
    chunks = block_chunks(synth, first, last)
    for number, (a, b) in enumerate(chunks, 1):
        path = chunk_dir / f"{a:08d}.om"
        path.write_text(openmetrics_chunk(synth, slos, prefixes, a, b), encoding="utf-8")
        if pending:
            _finish(*pending)
        process = subprocess.Popen(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        pending = (process, path)
        if number % 24 == 0 or number == len(chunks):
            log(f"raw backfill: chunk {number}/{len(chunks)}")
    if pending:
        _finish(*pending)


def _finish(process: subprocess.Popen, path: Path) -> None:
    output, _ = process.communicate()
    path.unlink()
    if process.returncode:
        raise RuntimeError(f"promtool openmetrics backfill of {path.name} failed: {output.decode()[-2000:]}")


def _backfill_rules(rules: Path, start: int, end: int, work: Path, data: Path, log: Log) -> None:
    out = work / "rule-blocks"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    config = prom.write_config(work / "backfill.yml", None, None)
    with prom.running(data, config, work / "logs" / "backfill.log") as server:
        done = subprocess.run(
            [
                "promtool", "tsdb", "create-blocks-from", "rules", "--quiet",
                f"--start={start}", f"--end={end}", f"--url={server.url}",
                f"--output-dir={out}", "--eval-interval=60s", str(rules),
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"promtool rules backfill failed: {(done.stdout + done.stderr)[-2000:]}")
    for block in out.iterdir():
        if block.is_dir():
            block.rename(data / block.name)
    log(f"rules backfill {start}..{end} done")


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
        cycles, checks = [], []
        for cycle in range(config.cycles):
            metrics = server.metrics()
            cycles.append(metrics.get("prometheus_rule_group_last_duration_seconds", 0.0))
            if cycle >= config.cycles - 3:
                checks += _check(server, synth, by_key)
            log(f"{name}: cycle {cycle + 1}/{config.cycles}: rule groups took {cycles[-1]:.3f}s")
            time.sleep(60)
        after = server.metrics()
        cpu = (server.cpu_seconds() - cpu_before) / ((time.monotonic() - t_before) / 60)
        samples, rule_count, groups = _samples_per_cycle(server, rules)
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
    )


def _check(server: prom.Prometheus, synth: SynthConfig, by_key: dict[tuple[str, str], SLOCounters]) -> list[Check]:
    """Every recorded error ratio now, against the exact ratio at the moment it was evaluated."""
    at = time.time()
    selector = '{__name__=~"slo:sli_error:ratio_rate.+"}'
    values = server.query(selector, at)["result"]
    stamps = {_ident(r["metric"]): float(r["value"][1]) for r in server.query(f"timestamp({selector})", at)["result"]}
    result = []
    for row in values:
        key, window = (row["metric"]["slo_service"], row["metric"]["slo_name"]), row["metric"]["slo_window"]
        evaluated = stamps[_ident(row["metric"])]
        seconds = int(parse_duration(window).seconds)
        truth = exact_ratio(by_key[key], synth, evaluated, seconds)
        result.append(Check(key, window, evaluated, float(row["value"][1]), truth))
    return result


def _ident(labels: dict[str, str]) -> tuple[str, str, str]:
    return (labels["slo_service"], labels["slo_name"], labels["slo_window"])


def _samples_per_cycle(server: prom.Prometheus, rules: Path) -> tuple[int, int, int]:
    """Samples one evaluation of every rule loads, from the query engine's own stats."""
    total = count = groups = 0
    at = time.time()
    for path in sorted(rules.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            groups += 1
            for rule in group["rules"]:
                stats = server.query(rule["expr"], at, stats=True).get("stats", {})
                total += int(stats.get("samples", {}).get("totalQueryableSamples", 0))
                count += 1
    return total, count, groups
