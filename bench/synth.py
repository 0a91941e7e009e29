"""Synthetic request counters for N SLOs, and the exact error ratios they imply.

Pure and deterministic (seeded): the same config gives the same series, so the
truth used to judge Prometheus' answers is computed from the very numbers that
were backfilled. Counters are integers on a fixed grid (one sample per
`step` seconds); each SLO has diurnal traffic, a load-correlated baseline
error ratio and error bursts. Pods split an SLO's count round-robin, so the
per-SLO sum of the pod counters is exactly the SLO counter.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field

CODES: tuple[str, ...] = ("200", "204", "404", "500", "503")
ERROR_CODES: tuple[str, ...] = ("500", "503")
# Share of the non-error traffic per non-error code, and of the errors per 5xx code.
OK_SHARES: dict[str, float] = {"200": 0.90, "204": 0.04, "404": 0.06}
ERROR_SHARES: dict[str, float] = {"500": 0.7, "503": 0.3}
METRIC = "bench_http_requests_total"
DAY = 86400
BLOCK = 7200  # promtool writes 2h blocks; chunks of backfill input align to them


@dataclass(frozen=True)
class SynthConfig:
    slos: int = 100
    pods: int = 50  # series per SLO = pods * len(CODES)
    start: int = 0  # unix seconds of the first sample, aligned to BLOCK
    steps: int = 0  # number of samples per series
    step: int = 60  # seconds between samples
    slos_per_service: int = 4
    seed: int = 7

    @property
    def series_per_slo(self) -> int:
        return self.pods * len(CODES)

    @property
    def end(self) -> int:
        """Time of the last sample."""
        return self.start + (self.steps - 1) * self.step

    def time_of(self, k: int) -> int:
        return self.start + k * self.step

    def index_at(self, t: float) -> int:
        """Index of the newest sample at or before `t` (clamped to the grid)."""
        return max(0, min(self.steps - 1, math.floor((t - self.start) / self.step)))


@dataclass(frozen=True)
class Burst:
    start: int  # unix seconds
    end: int
    ratio: float  # error ratio during the burst


@dataclass(frozen=True)
class SLOShape:
    service: str
    slo: str
    base_rate: float  # requests per second at the daily mean
    phase: float  # radians: when the daily peak happens
    error_ratio: float  # baseline error ratio at mean load
    bursts: tuple[Burst, ...]
    objective: str  # percent, as written in the spec

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.slo)


def slo_names(config: SynthConfig) -> list[tuple[str, str]]:
    per = config.slos_per_service
    return [(f"svc-{i // per:03d}", f"route-{i % per}") for i in range(config.slos)]


def shapes(config: SynthConfig) -> list[SLOShape]:
    """Per-SLO traffic shape: seeded, so the data and the truth agree across runs."""
    result = []
    span = config.steps * config.step
    for index, (service, slo) in enumerate(slo_names(config)):
        rng = random.Random(f"{config.seed}:{index}")
        bursts = []
        # About one burst every four days, 5 minutes to 3 hours, 1% to 30% errors.
        count = max(1, round(rng.expovariate(1.0) * span / (4 * DAY)))
        for _ in range(count):
            start = config.start + rng.randrange(0, max(1, span))
            length = rng.choice((300, 900, 1800, 3600, 10800))
            bursts.append(Burst(start, start + length, rng.choice((0.01, 0.03, 0.1, 0.3))))
        result.append(
            SLOShape(
                service=service,
                slo=slo,
                base_rate=rng.uniform(20, 200),
                phase=rng.uniform(0, 2 * math.pi),
                error_ratio=rng.choice((0.0002, 0.0005, 0.001, 0.003)),
                bursts=tuple(sorted(bursts, key=lambda b: b.start)),
                objective=("99.9", "99.5", "99")[index % 3],
            )
        )
    return result


def load(shape: SLOShape, t: float) -> float:
    """Daily cycle (peak 1.6x, trough 0.4x of the mean), quieter weekends."""
    daily = 1 + 0.6 * math.sin(2 * math.pi * (t % DAY) / DAY + shape.phase)
    weekend = 0.7 if (int(t // DAY) + 4) % 7 in (5, 6) else 1.0  # 1970-01-01 was a Thursday
    return daily * weekend


def error_ratio_at(shape: SLOShape, t: float) -> float:
    burst = max((b.ratio for b in shape.bursts if b.start <= t < b.end), default=0.0)
    # Errors grow with load, so the average of ratios is not the weighted ratio.
    return max(burst, shape.error_ratio * load(shape, t) ** 2)


@dataclass
class SLOCounters:
    """Cumulative counts per status code of one SLO, one entry per grid sample."""

    shape: SLOShape
    by_code: dict[str, array] = field(default_factory=dict)

    def errors(self, k: int) -> int:
        return sum(self.by_code[code][k] for code in ERROR_CODES)

    def total(self, k: int) -> int:
        return sum(self.by_code[code][k] for code in CODES)


def counters(config: SynthConfig, shape: SLOShape) -> SLOCounters:
    rng = random.Random(f"{config.seed}:noise:{shape.service}:{shape.slo}")
    expected = dict.fromkeys(CODES, 0.0)
    by_code = {code: array("q", bytes(8 * config.steps)) for code in CODES}
    for k in range(config.steps):
        t = config.time_of(k)
        if k:
            requests = shape.base_rate * load(shape, t) * config.step * (1 + 0.1 * (rng.random() - 0.5))
            ratio = error_ratio_at(shape, t)
            for code, share in ERROR_SHARES.items():
                expected[code] += requests * ratio * share
            for code, share in OK_SHARES.items():
                expected[code] += requests * (1 - ratio) * share
        for code in CODES:
            by_code[code][k] = int(expected[code])
    return SLOCounters(shape, by_code)


def all_counters(config: SynthConfig) -> list[SLOCounters]:
    return [counters(config, shape) for shape in shapes(config)]


def exact_ratio(slo: SLOCounters, config: SynthConfig, at: float, window: int) -> float | None:
    """Errors / requests between the samples at `at - window` and `at`: the truth for that window."""
    new, old = config.index_at(at), config.index_at(at - window)
    total = slo.total(new) - slo.total(old)
    if total <= 0:
        return None
    return (slo.errors(new) - slo.errors(old)) / total


def pod_values(count: int, pods: int) -> list[int]:
    """Round-robin split of a cumulative count: every pod's counter only grows, and they sum to `count`."""
    share, rest = divmod(count, pods)
    return [share + 1] * rest + [share] * (pods - rest)


def series_prefixes(config: SynthConfig, slo: SLOCounters) -> dict[str, list[str]]:
    shape = slo.shape
    return {
        code: [
            f'{METRIC}{{service="{shape.service}",route="{shape.slo}",pod="pod-{pod:02d}",code="{code}"}} '
            for pod in range(config.pods)
        ]
        for code in CODES
    }


def exposition_lines(
    config: SynthConfig, slos: list[SLOCounters], prefixes: list[dict[str, list[str]]], k: int, ts_suffix: str
) -> str:
    """Every series' sample at grid index `k`, one text line each, ending in `ts_suffix`."""
    out = []
    for slo, prefix in zip(slos, prefixes, strict=True):
        for code in CODES:
            share, rest = divmod(slo.by_code[code][k], config.pods)
            high, low = f"{share + 1}{ts_suffix}", f"{share}{ts_suffix}"
            names = prefix[code]
            out.append("".join([name + (high if pod < rest else low) for pod, name in enumerate(names)]))
    return "".join(out)


def openmetrics_chunk(config: SynthConfig, slos: list[SLOCounters], prefixes, first: int, last: int) -> str:
    """OpenMetrics text for grid samples first..last (inclusive), for promtool's backfill."""
    parts = []  # no TYPE line: OpenMetrics would want the family name without _total
    for k in range(first, last + 1):
        parts.append(exposition_lines(config, slos, prefixes, k, f" {config.time_of(k)}\n"))
    parts.append("# EOF\n")
    return "".join(parts)


def block_chunks(config: SynthConfig, first: int, last: int) -> list[tuple[int, int]]:
    """Split grid indexes first..last at 2h boundaries, so promtool parses each file once."""
    chunks = []
    k = first
    while k <= last:
        block_end = (config.time_of(k) // BLOCK + 1) * BLOCK
        stop = min(last, config.index_at(block_end - 1))
        chunks.append((k, stop))
        k = stop + 1
    return chunks
