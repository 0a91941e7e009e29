"""The 30-day history of sloforge's recorded series, computed from the synthetic counters.

sloforge's windows are sums of offset lookups up a ladder of recorded rungs
(docs/windows.md): the 5m rates read raw series, every rung above reads the
rung below it. A live Prometheus only has the rungs from the moment it starts,
so the bench backfills every rung's 30 days, computed here with Prometheus's
semantics for rules evaluated every `step` on the sample grid:

- `rate(raw[5m])` at a grid instant sees the samples at both ends of the
  window (Prometheus 2.x ranges are closed), so the 5m rate is the exact
  increase over the 5 minutes / 300 (no extrapolation: the samples span the
  whole range).
- A rung is `((lookup 0 or 0) + (lookup 1 or 0) + ...) / n`, added left to
  right like PromQL's `+`; a lookup before the first recorded sample is 0
  (the rule's `or vector(0)`), so the rung exists from the first evaluation on.
- The 5m error ratio is errors / total (both rule sets read it: sloforge's
  alerts and the naive 30d average).

The series, labels and rung plans come from sloforge's own rendered rules
(`rung_plans`), and `evaluation` checks the backfilled values against the
rendered expressions on a Prometheus over the backfilled TSDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.synth import ERROR_CODES, SLOCounters, SynthConfig
from generator.model.slo import SLO, Model
from generator.model.windows import rungs_needed, tiling
from generator.targets import labels as L
from generator.targets.rules import windows_of
from generator.units.durations import format_duration


@dataclass(frozen=True)
class Rung:
    """One recorded window: `count` lookups of `lower_ms`, or (lower_ms == 0) the raw rate."""

    millis: int
    label: str  # the slo_window label value, as the rules write it
    lower_ms: int
    count: int


def rung_plan(slo: SLO) -> list[Rung]:
    """The shortest window, then every rung sloforge records for this SLO, ascending (from the same plan as the rules)."""
    windows = windows_of(slo)
    base = windows[0]
    plan = [Rung(base.millis, base.text, 0, 0)]
    for rung in rungs_needed([w.millis for w in windows], base.millis):
        tiles = tiling(rung, base.millis)
        assert tiles is not None
        plan.append(Rung(rung, format_duration(rung), tiles.rung_ms, tiles.count))
    return plan


def base_rates(slo: SLOCounters, config: SynthConfig, window_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Errors and total per second over the shortest window at every grid index (NaN before the window is full)."""
    span = window_ms // 1000 // config.step
    errors = np.zeros(config.steps, dtype=np.float64)
    total = np.zeros(config.steps, dtype=np.float64)
    for code, counts in slo.by_code.items():
        values = np.frombuffer(counts, dtype=np.int64).astype(np.float64)
        total += values
        if code in ERROR_CODES:
            errors += values
    seconds = window_ms / 1000
    out = []
    for series in (errors, total):
        rate = np.full(config.steps, np.nan)
        rate[span:] = (series[span:] - series[:-span]) / seconds
        out.append(rate)
    return out[0], out[1]


def rung_values(lower: np.ndarray, lower_ms: int, count: int, config: SynthConfig, first: int) -> np.ndarray:
    """`(lower or 0) + (lower offset r or 0) + ...` / count at every grid index from `first` (NaN before)."""
    shift = lower_ms // 1000 // config.step
    present = np.where(np.isnan(lower), 0.0, lower)
    acc = present.copy()
    for j in range(1, count):
        term = np.zeros(config.steps)
        term[j * shift :] = present[: config.steps - j * shift]
        acc = acc + term
    out = acc / count
    out[:first] = np.nan
    return out


def history(slo: SLOCounters, config: SynthConfig, plan: list[Rung], first: int) -> dict[str, np.ndarray]:
    """{series selector without value: values per grid index (NaN: no sample)} for one SLO."""
    service, name = slo.shape.service, slo.shape.slo
    errors, total = base_rates(slo, config, plan[0].millis)
    errors[:first] = np.nan
    total[:first] = np.nan
    by_ms = {plan[0].millis: (errors, total)}
    for rung in plan[1:]:
        lower_err, lower_tot = by_ms[rung.lower_ms]
        by_ms[rung.millis] = (
            rung_values(lower_err, rung.lower_ms, rung.count, config, first),
            rung_values(lower_tot, rung.lower_ms, rung.count, config, first),
        )
    out = {}
    for rung in plan:
        err, tot = by_ms[rung.millis]
        labels = f'{{{L.SERVICE}="{service}",{L.SLO}="{name}",{L.WINDOW}="{rung.label}"}}'
        out[f"{L.ERRORS_RATE}{rung.label}{labels}"] = err
        out[f"{L.TOTAL_RATE}{rung.label}{labels}"] = tot
    base = plan[0].label
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(total > 0, errors / np.where(total > 0, total, 1.0), np.nan)
    labels = f'{{{L.SERVICE}="{service}",{L.SLO}="{name}",{L.WINDOW}="{base}"}}'
    out[f"{L.error_ratio_series(base)}{labels}"] = ratio
    return out


def all_history(slos: list[SLOCounters], config: SynthConfig, model: Model, first: int) -> dict[str, np.ndarray]:
    plans = {(slo.service, slo.name): rung_plan(slo) for slo in model.slos}
    result: dict[str, np.ndarray] = {}
    for slo in slos:
        result.update(history(slo, config, plans[slo.shape.key], first))
    return result


def openmetrics_lines(series: dict[str, np.ndarray], config: SynthConfig, first: int, last: int) -> str:
    """OpenMetrics sample lines for grid indexes first..last, one series after the other (families not interleaved)."""
    parts = []
    times = [f" {config.time_of(k)}\n" for k in range(first, last + 1)]
    for name in sorted(series):
        values = series[name][first : last + 1].tolist()
        prefix = name + " "
        parts.append("".join(prefix + repr(v) + t for v, t in zip(values, times, strict=True) if v == v))
    return "".join(parts)
