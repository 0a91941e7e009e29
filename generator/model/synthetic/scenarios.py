"""Scenarios over an input plan: phases of error ratio and traffic, the series promtool reads, what the rules record.

Per-second rates are integers and error ratios multiples of a power of two,
so counters stay integers and the burn-rate model in `generator.model.burn`
predicts, in exact arithmetic, the evaluation at which promtool sees each
alert change state.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import cast

from generator.model import burn
from generator.model.synthetic.plans import InputPlan, Role
from generator.model.synthetic.shape_memo import ShapeMemo
from generator.model.synthetic.values_text import MAX_VALUES_TEXT, number_text, sample_runs, segment, thousandths

MAX_RESOLUTION_BITS = 24


@dataclass(frozen=True)
class Phase:
    """From `start_ms` on: this error ratio at this multiple of the base traffic (0: traffic stops)."""

    start_ms: int
    error_ratio: Fraction
    traffic: int | Fraction = 1  # a Fraction for low-traffic scenarios (a handful of events per minute)

    @cached_property
    def key(self) -> tuple[int, int, int, int | Fraction]:
        """The phase as integers, for memo keys that hash fast (a Fraction's hash is slow)."""
        return self.start_ms, self.error_ratio.numerator, self.error_ratio.denominator, self.traffic


@dataclass(frozen=True)
class Synthesis:
    """An input plan with a resolution: error ratios are multiples of 1 / 2**bits."""

    plan: InputPlan
    bits: int

    @property
    def base_rate(self) -> int:
        """Events per second at traffic 1 (counters); a multiple of the samples per rate window."""
        return self.plan.samples_per_window * 2**self.bits

    def quantize(self, ratio: Fraction) -> Fraction:
        return quantize(ratio, self.bits)

    def signals(self, phases: tuple[Phase, ...]) -> dict[Role, burn.Steps]:
        """Per-second rates (counters) or sample values (gauges) of each role."""
        starts = tuple(phase.start_ms for phase in phases)
        total = tuple(self.base_rate * phase.traffic for phase in phases)
        bad = tuple(_exact(phase.error_ratio * rate) for phase, rate in zip(phases, total, strict=True))
        ratio = tuple(phase.error_ratio for phase in phases)
        return {
            "bad": burn.Steps(starts, bad),
            "good": burn.Steps(starts, tuple(t - b for t, b in zip(total, bad, strict=True))),
            "total": burn.Steps(starts, total),
            "gauge_good": burn.Steps(starts, tuple(1 - r for r in ratio)),
            "gauge_bad": burn.Steps(starts, ratio),
        }

    def records(self, phases: tuple[Phase, ...], step_ms: int, steps: int) -> burn.Records:
        """What the shortest-window recording rules store at each evaluation."""
        plan = self.plan
        if plan.sampling in ("samples", "average", "instant"):
            scale = 2**self.bits  # ratios are multiples of 1 / scale: integers after scaling
            scaled = burn.Steps(tuple(p.start_ms for p in phases), tuple(_exact(p.error_ratio * scale) for p in phases))
            if plan.sampling == "samples":
                return burn.record_samples(scaled, plan.raw_ms, plan.interval_ms, step_ms, steps, scale)
            if plan.sampling == "average":
                return burn.record_sample_means(scaled, plan.raw_ms, plan.interval_ms, step_ms, steps, scale)
            return burn.record_instant(scaled, plan.interval_ms, step_ms, steps, scale)
        starts = tuple(phase.start_ms for phase in phases)
        total = tuple(self.base_rate * phase.traffic for phase in phases)
        bad = tuple(_exact(phase.error_ratio * rate) for phase, rate in zip(phases, total, strict=True))
        record = burn.record_counters if plan.sampling == "counters" else burn.record_counter_ratio
        return record(burn.Steps(starts, bad), burn.Steps(starts, total), plan.raw_ms, plan.interval_ms, step_ms, steps)

    def evaluation(self, phases: tuple[Phase, ...], step_ms: int, end_ms: int) -> burn.Evaluation:
        records = self.records(phases, step_ms, end_ms // step_ms + 1)
        return burn.Evaluation(records, step_ms, self.plan.raw_ms, self.events_per_unit())

    def events_per_unit(self) -> Fraction | None:
        """Bad events per unit of the recorded errors: counters record thousandths, samples x 2**bits."""
        if self.plan.sampling == "counters":
            return Fraction(1, 1000)
        if self.plan.sampling == "samples":
            return Fraction(1, 2**self.bits)
        return None  # raw ratios: no event count

    def input_series(
        self, phases: tuple[Phase, ...], end_ms: int, step_ms: int | None = None, memo: ShapeMemo | None = None
    ) -> list[dict[str, str]]:
        """promtool `input_series` in expanding notation, one segment per phase.

        Given the evaluation step, only the samples the rules read are written
        (the shortest window before each evaluation); `_xN` skips the rest, so
        weeks of input at a coarse step stay small for promtool to load. Runs
        are merged until each line stays short (YAML folds lines over 1000
        characters). The values depend on the plan's shape only: with a `memo`,
        SLOs of one shape share them.
        """
        shape = Synthesis(self.plan.shape, self.bits)
        if memo is None:
            values = shape._input_values(phases, end_ms, step_ms)
        else:
            key = (memo.shape_id(self.plan), self.bits, phases_key(phases), end_ms, step_ms)
            values = memo.input_values(key, lambda: shape._input_values(phases, end_ms, step_ms))
        return [
            {"series": series.text(), "values": text} for series, text in zip(self.plan.series, values, strict=True)
        ]

    def _input_values(self, phases: tuple[Phase, ...], end_ms: int, step_ms: int | None) -> tuple[str, ...]:
        runs = sample_runs(end_ms // self.plan.interval_ms, self.plan.interval_ms, self.plan.raw_ms, step_ms)
        signals = self.signals(phases)
        while True:
            values: list[str] = []
            for series in self.plan.series:
                values.append(self._values(signals[series.role], series.role, phases, runs))
                if len(runs) > 1 and len(values[-1]) > MAX_VALUES_TEXT:
                    break  # too long already: merge runs (the other series' lines would not be used)
            else:
                return tuple(values)
            runs = [(runs[i][0], runs[min(i + 1, len(runs) - 1)][1]) for i in range(0, len(runs), 2)]

    def _values(self, steps: burn.Steps, role: Role, phases: tuple[Phase, ...], runs: list[tuple[int, int]]) -> str:
        interval = self.plan.interval_ms
        counter = role in ("bad", "good", "total")
        # Integer rates (the usual case): counter values are thousandths, written without Fractions.
        whole = counter and all(type(value) is int for value in steps.values)
        last = len(phases) - 1
        firsts = [-(-phase.start_ms // interval) for phase in phases]  # each phase's first and last sample
        lasts = [phases[index + 1].start_ms // interval - 1 for index in range(last)]
        gauges: dict[int, str] = {}  # a gauge's value text, per phase
        slopes: dict[int, str] = {}  # a counter's increase per sample, per phase
        segments, next_sample, current = [], 0, 0
        for first_sample, last_sample in runs:
            if first_sample > next_sample:
                segments.append(f"_x{first_sample - next_sample}")
            while current < last and lasts[current] < first_sample:
                current += 1  # phases over before this run (both bounds only grow)
            for index in range(current, last + 1):
                if firsts[index] > last_sample:
                    break  # this and later phases start after the run
                lo = max(first_sample, firsts[index])
                hi = min(last_sample, lasts[index]) if index < last else last_sample
                if hi < lo:
                    continue
                if whole:
                    value = thousandths(cast(int, steps.area(lo * interval)))
                    if hi == lo:
                        segments.append(value)
                        continue
                    if index not in slopes:
                        slope = cast(int, steps.values[index]) * interval
                        slopes[index] = f"{'-' if slope < 0 else '+'}{thousandths(abs(slope))}x"
                    segments.append(f"{value}{slopes[index]}{hi - lo}")
                elif counter:
                    first = steps.integral(lo * interval)
                    segments.append(segment(first, steps.values[index] * Fraction(interval, 1000), hi - lo))
                else:
                    if index not in gauges:
                        gauges[index] = number_text(Fraction(steps.values[index]))
                    segments.append(gauges[index] if hi == lo else f"{gauges[index]}+0x{hi - lo}")
            next_sample = last_sample + 1
        return " ".join(segments)

    def bad_events(self, phases: tuple[Phase, ...], end_ms: int) -> Fraction:
        """Bad events (counters), bad samples (bool gauges) or ratio x seconds (raw) until `end_ms`."""
        signal = self.signals(phases)
        if self.plan.sampling == "samples":
            return Fraction(signal["gauge_bad"].sample_sum(1, end_ms // self.plan.interval_ms, self.plan.interval_ms))
        if self.plan.sampling in ("average", "instant"):
            return signal["gauge_bad"].integral(end_ms)
        return signal["bad"].integral(end_ms)

    def events_per_second(self) -> Fraction:
        """Events per second at traffic 1, in the unit of `bad_events`."""
        if self.plan.sampling == "samples":
            return Fraction(1000, self.plan.interval_ms)
        if self.plan.sampling in ("average", "instant"):
            return Fraction(1)
        return Fraction(self.base_rate)


def phases_key(phases: tuple[Phase, ...]) -> tuple[tuple[int, int, int, int | Fraction], ...]:
    """The phases as integers, for memo keys that hash fast (a Fraction's hash is slow)."""
    return tuple(phase.key for phase in phases)


def synthesize(plan: InputPlan, ratios: list[Fraction], tolerance: Fraction) -> Synthesis:
    """The coarsest resolution that keeps every non-zero ratio within `tolerance` (relative)."""
    return Synthesis(plan, resolution(tuple(ratios), tolerance))


@lru_cache(maxsize=1 << 14)
def resolution(ratios: tuple[Fraction, ...], tolerance: Fraction) -> int:
    """The bits of `synthesize`: they depend on the ratios alone."""
    wanted = [ratio for ratio in ratios if ratio > 0]
    for bits in range(4, MAX_RESOLUTION_BITS + 1):
        if all(abs(quantize(ratio, bits) - ratio) <= tolerance * ratio for ratio in wanted):
            return bits
    return MAX_RESOLUTION_BITS


@lru_cache(maxsize=1 << 14)
def quantize(ratio: Fraction, bits: int) -> Fraction:
    """The nearest multiple of 1 / 2**bits (ties to even), at most 1, never 0 for a positive ratio."""
    quantum = Fraction(1, 2**bits)
    steps = min(round(ratio / quantum), 2**bits)
    if ratio > 0:
        steps = max(steps, 1)
    return steps * quantum


def _exact(value: Fraction) -> int | Fraction:
    """Integers as int: the model's sums stay fast."""
    return value.numerator if value.denominator == 1 else value
