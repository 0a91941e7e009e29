"""What would a rung cost if one rule computed it for every SLO? Measured on the evaluation bench's TSDB.

`python -m bench.whatif` starts a Prometheus (no rules, no scrape) over
bench/.work/prometheus/data after `python -m bench` and times, as instant
queries at a past instant (`stats=all`: the engine's own evaluation time and
samples), each recording rule of sloforge's rendered rules once per SLO (as
the rule groups run them), against the same rungs computed by one batched
expression for all SLOs: the lookups matched by label instead of one
selector set per SLO. Prints a markdown table; nothing else is written.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import click
import yaml

from bench import prom
from generator.model.windows import DAY_MS, rungs_needed, tiling
from generator.targets import labels as L
from generator.units.durations import format_duration

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "prometheus"
REPEAT = 5
BY = "slo_service, slo_name"


def batched_rung(name: str, rung: str, lower: str, lower_ms: int, count: int) -> str:
    """Every SLO's rung at once: the same lookups, a missing one as 0 for SLOs that have the newest tile."""
    series = f'{name}{lower}{{slo_window="{lower}"}}'
    terms = []
    for j in range(count):
        offset = "" if j == 0 else f" offset {format_duration(j * lower_ms)}"
        terms.append(f"(sum by ({BY}) ({series}{offset}) or on({BY}) 0 * sum by ({BY}) ({series}))")
    return f"({' + '.join(terms)}) / {count}"


BASE_MS = 300_000  # the bench specs' shortest window


def _plan() -> dict[str, tuple[str, int, int]]:
    """rung -> (the rung below it, its length, tiles): the ladder's own tiling (model.windows)."""
    plan = {}
    for rung_ms in rungs_needed([DAY_MS * 30], BASE_MS):
        tiles = tiling(rung_ms, BASE_MS)
        assert tiles is not None
        plan[format_duration(rung_ms)] = (format_duration(tiles.rung_ms), tiles.rung_ms, tiles.count)
    return plan


PLAN = _plan()


def rung_rules(groups: list[dict]) -> dict[str, list[tuple[str, tuple[str, str]]]]:
    """record -> per-SLO (expression, SLO) of the ladder's rungs (the 5m raw reads, which use `offset` too, are no rung)."""
    rungs: dict[str, list[tuple[str, tuple[str, str]]]] = {}
    for group in groups:
        for rule in group["rules"]:
            record = rule.get("record", "")
            if record.startswith((L.ERRORS_RATE, L.TOTAL_RATE)) and record.rsplit("rate", 1)[1] in PLAN:
                key = (rule["labels"]["slo_service"], rule["labels"]["slo_name"])
                rungs.setdefault(record, []).append((rule["expr"], key))
    return rungs


def timed(server: prom.Prometheus, expr: str, at: float) -> tuple[float, int, list[dict]]:
    """Median engine evaluation seconds over REPEAT runs, samples, result."""
    seconds, samples, result = [], 0, []
    for _ in range(REPEAT):
        data = server.query(expr, at, stats=True)
        stats = data["stats"]
        seconds.append(float(stats["timings"]["evalTotalTime"]))
        samples = int(stats["samples"]["totalQueryableSamples"])
        result = data["result"]
    return statistics.median(seconds), samples, result


@click.command()
@click.option("--ago", default=3600, show_default=True, help="Seconds before now of the instant to query.")
def main(ago: int) -> None:
    rules = sorted((WORK / "rules" / "sloforge").glob("*.yaml"))
    groups = [g for path in rules for g in yaml.safe_load(path.read_text())["groups"]]
    rungs = rung_rules(groups)
    config = prom.write_config(WORK / "whatif.yml", None, None)
    lines = [
        f"| rung rule | per-SLO rules ({len(groups)} SLOs): eval time | samples | one batched rule: eval time | "
        "samples | SLOs | largest difference | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with prom.running(WORK / "data", config, WORK / "logs" / "whatif.log") as server:
        at = time.time() - ago
        at -= at % 60
        totals = [0.0, 0.0]
        for record, exprs in sorted(rungs.items()):
            rung = record.rsplit("rate", 1)[1]
            name = record[: -len(rung)]
            per_slo = [timed(server, expr, at) for expr, _ in exprs]
            ours = sum(s for s, _, _ in per_slo)
            ours_samples = sum(n for _, n, _ in per_slo)
            lower, lower_ms, count = PLAN[rung]
            batch, batch_samples, batch_result = timed(server, batched_rung(name, rung, lower, lower_ms, count), at)
            got = {(r["metric"]["slo_service"], r["metric"]["slo_name"]): float(r["value"][1]) for r in batch_result}
            worst = 0.0
            for (_, _, result), (_, key) in zip(per_slo, exprs, strict=True):
                want = float(result[0]["value"][1])
                worst = max(worst, abs(got[key] - want) / abs(want) if want else abs(got[key]))
            totals[0] += ours
            totals[1] += batch
            lines.append(
                f"| `{record}` | {ours * 1000:.2f} ms | {ours_samples:,} | {batch * 1000:.2f} ms | "
                f"{batch_samples:,} | {len(got)} | {worst:.1e} | {ours / batch if batch else float('inf'):.1f}x |"
            )
        lines.append(
            f"| **all rungs** | **{totals[0] * 1000:.2f} ms** | | **{totals[1] * 1000:.2f} ms** | | | | "
            f"**{totals[0] / totals[1] if totals[1] else float('inf'):.1f}x** |"
        )
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
