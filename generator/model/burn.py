"""Burn-rate arithmetic used by `explain`, the rule tests and the simulator: the replay model.

One implementation of the timing math, so generated tests, the explain table
and the simulator agree by construction. The Workbook's continuous formulas
(detection and reset times per tier) are in `generator.model.workbook`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

from generator.model.slo import SLO, Tier
from generator.model.windows import HOLD_MS, LOOKBACK_MS, Tiling, tiling
from generator.units.numbers import format_number

# --- Evaluation by evaluation ---------------------------------------------------
#
# The Workbook formulas above are continuous. Prometheus evaluates every
# `step`; the shortest window is a `rate()` that needs its own length to fill;
# ranges include both ends (Prometheus 2.x); `for` counts from the first true
# evaluation. The rule tests and the simulator need the evaluation at which an
# alert goes pending, fires and resolves, so the model below replays exactly
# that, in exact arithmetic. Prometheus computes in floats, so evaluations
# where a burn rate is within rounding of the factor are listed in
# `near_ties`: there the prediction may be one evaluation off.

NEAR_TIE = 10**9  # within 1 / NEAR_TIE (relative) of the factor, float rounding could decide


Number = int | Fraction  # exact; ints where possible, they are much faster


@dataclass(frozen=True)
class Steps:
    """A piecewise-constant signal: `values[i]` from `starts[i]` (ms) until the next start."""

    starts: tuple[int, ...]
    values: tuple[Number, ...]

    def __post_init__(self) -> None:
        if not self.starts or self.starts[0] != 0 or list(self.starts) != sorted(set(self.starts)):
            raise ValueError("steps must start at 0 and increase")
        areas: list[Number] = [0]  # integral up to each start, in value x milliseconds
        for index in range(1, len(self.starts)):
            areas.append(areas[-1] + self.values[index - 1] * (self.starts[index] - self.starts[index - 1]))
        object.__setattr__(self, "_areas", tuple(areas))

    def at(self, t_ms: int) -> Number:
        return self.values[bisect_right(self.starts, t_ms) - 1]

    def area(self, t_ms: int) -> Number:
        """Integral from 0 to `t_ms`, in value x milliseconds."""
        index = bisect_right(self.starts, t_ms) - 1
        return self._areas[index] + self.values[index] * (t_ms - self.starts[index])  # type: ignore[attr-defined]

    def areas(self, times: Iterable[int]) -> list[Number]:
        """`area(t)` for each of `times`, which must be ascending and not negative (one pass)."""
        starts, values, areas = self.starts, self.values, self._areas  # type: ignore[attr-defined]
        result: list[Number] = []
        index, last = 0, len(starts) - 1
        for t in times:
            while index < last and starts[index + 1] <= t:
                index += 1
            result.append(areas[index] + values[index] * (t - starts[index]))
        return result

    def integral(self, t_ms: int) -> Fraction:
        """Integral from 0 to `t_ms`, in value x seconds (a counter's increase)."""
        return Fraction(self.area(t_ms), 1000)

    def sample_sums_before(self, counts: Iterable[int], interval_ms: int) -> list[Number]:
        """`sample_sum(0, count - 1, interval_ms)` for each of `counts`, ascending and not negative (one pass)."""
        starts, values = self.starts, self.values
        firsts = [-(-start // interval_ms) for start in starts]  # each step's first sample
        before: list[Number] = [0]  # sum of the samples before each step's first
        for index in range(len(starts) - 1):
            before.append(before[-1] + values[index] * (firsts[index + 1] - firsts[index]))
        result: list[Number] = []
        index, last = 0, len(starts) - 1
        for count in counts:
            while index < last and firsts[index + 1] <= count:
                index += 1
            result.append(before[index] + values[index] * (count - firsts[index]))
        return result

    def sample_sum(self, first: int, last: int, interval_ms: int) -> Number:
        """Sum of the values at samples `first..last` (sample s is taken at s * interval_ms)."""
        total: Number = 0
        for index, start in enumerate(self.starts):
            end = self.starts[index + 1] if index + 1 < len(self.starts) else None
            lo = max(first, -(-start // interval_ms))
            hi = last if end is None else min(last, -(-end // interval_ms) - 1)
            if hi >= lo:
                total += self.values[index] * (hi - lo + 1)
        return total


@dataclass(frozen=True)
class Recorded:
    """What `slo:sli_errors:rate<w>` and `slo:sli_total:rate<w>` store at one evaluation.

    Both in one unit per evaluation run (scaled so they stay integers where
    possible): only ratios of sums are ever compared.
    """

    errors: Number
    total: Number


Records = tuple[Recorded | None, ...]  # one per evaluation; None: no sample (absent, stale)


def _times(step_ms: int, steps: int) -> range:
    return range(0, step_ms * steps, step_ms)


def record_counters(bad: Steps, total: Steps, raw_ms: int, interval_ms: int, step_ms: int, steps: int) -> Records:
    """`sum(rate(counter[raw]))` of bad and all events (per-second rates), counters starting at 0.

    With a sample at both ends of the range Prometheus 2.x does not
    extrapolate: the rate is the increase over (t - raw, t] divided by raw
    (recorded here without the division, which every ratio cancels).
    Before the second sample there is no rate at all.
    """
    times = _times(step_ms, steps)
    starts = [max(0, t - raw_ms) for t in times]
    return tuple(
        None if t < interval_ms else Recorded(bad_end - bad_start, total_end - total_start)
        for t, bad_end, bad_start, total_end, total_start in zip(
            times, bad.areas(times), bad.areas(starts), total.areas(times), total.areas(starts), strict=True
        )
    )


def record_counter_ratio(bad: Steps, total: Steps, raw_ms: int, interval_ms: int, step_ms: int, steps: int) -> Records:
    """A raw SLI that divides two counter rates: the ratio is recorded with a total of 1 (NaN is dropped)."""
    result: list[Recorded | None] = []
    for rates in record_counters(bad, total, raw_ms, interval_ms, step_ms, steps):
        if rates is None or rates.total <= 0:
            result.append(None)
        else:
            result.append(Recorded(Fraction(rates.errors, rates.total), 1))
    return tuple(result)


def record_samples(
    bad_share: Steps, raw_ms: int, interval_ms: int, step_ms: int, steps: int, scale: int = 1
) -> Records:
    """A bool gauge: each sample in [t - raw, t] is one event; `bad_share` is (1 - its value) x scale."""
    times = _times(step_ms, steps)
    lasts = [t // interval_ms for t in times]
    firsts = [max(0, -(-(t - raw_ms) // interval_ms)) for t in times]
    if all(type(value) is int for value in bad_share.values) and all(
        first <= last + 1 for first, last in zip(firsts, lasts, strict=True)
    ):  # integer values: sums of samples from running sums, exactly
        ends = bad_share.sample_sums_before([last + 1 for last in lasts], interval_ms)
        begins = bad_share.sample_sums_before(firsts, interval_ms)
        return tuple(
            Recorded(end - begin, (last - first + 1) * scale)
            for end, begin, first, last in zip(ends, begins, firsts, lasts, strict=True)
        )
    return tuple(
        Recorded(bad_share.sample_sum(first, last, interval_ms), (last - first + 1) * scale)
        for first, last in zip(firsts, lasts, strict=True)
    )


def record_sample_means(
    ratio: Steps, raw_ms: int, interval_ms: int, step_ms: int, steps: int, scale: int = 1
) -> Records:
    """A raw SLI averaging a ratio gauge over the shortest window (`avg_over_time`), with a total of 1."""
    return tuple(
        None if r is None else Recorded(_mean(r.errors, scale, r.total), scale)
        for r in record_samples(ratio, raw_ms, interval_ms, step_ms, steps, scale)
    )


def _mean(errors: Number, scale: int, total: Number) -> Fraction:
    """`Fraction(errors) * scale / total`, with one Fraction where both are integers."""
    if type(errors) is int and type(total) is int:
        return Fraction(errors * scale, total)
    return Fraction(errors) * scale / total


def record_instant(ratio: Steps, interval_ms: int, step_ms: int, steps: int, scale: int = 1) -> Records:
    """A raw SLI read from a gauge: its latest sample (x scale), with a total of 1 (x scale)."""
    return tuple(Recorded(ratio.at(t // interval_ms * interval_ms), scale) for t in _times(step_ms, steps))


@dataclass(frozen=True)
class AlertSpan:
    """One activation of an alert: pending from `pending_ms`, firing from `firing_ms`, gone at `resolved_ms`."""

    pending_ms: int
    firing_ms: int | None
    resolved_ms: int | None

    def firing_at(self, t_ms: int) -> bool:
        return (
            self.firing_ms is not None
            and self.firing_ms <= t_ms
            and (self.resolved_ms is None or t_ms < self.resolved_ms)
        )


def alert_spans(conditions: list[bool], step_ms: int, for_ms: int) -> tuple[AlertSpan, ...]:
    """Prometheus' alert states: pending on the first true evaluation, firing once `for` has passed."""
    spans: list[AlertSpan] = []
    active: int | None = None
    firing: int | None = None
    for index, condition in enumerate(conditions):
        t = index * step_ms
        if condition:
            if active is None:
                active, firing = t, None
            if firing is None and t - active >= for_ms:
                firing = t
        elif active is not None:
            spans.append(AlertSpan(active, firing, t))
            active = None
    if active is not None:
        spans.append(AlertSpan(active, firing, None))
    return tuple(spans)


def _integer_scale(records: Records) -> int | None:
    """What `_integers` multiplies every record by; None: the records are ints already."""
    denominators = {
        value.denominator
        for record in records
        if record is not None
        for value in (record.errors, record.total)
        if type(value) is not int and isinstance(value, Fraction)
    }
    return math.lcm(*denominators) if denominators else None  # 1 when every Fraction is whole


def _integers(records: Records) -> Records:
    """The same records on one integer scale (ratios are unchanged; integer sums are fast)."""
    scale = _integer_scale(records)
    if scale is None:
        return records
    return tuple(None if r is None else Recorded(_scaled(r.errors, scale), _scaled(r.total, scale)) for r in records)


def _scaled(value: Number, scale: int) -> int:
    """`int(value * scale)` where `scale` is a multiple of the value's denominator (exact, no Fraction)."""
    if type(value) is int:
        return value * scale
    if isinstance(value, Fraction):
        return value.numerator * (scale // value.denominator)
    return int(value * scale)


class Evaluation:
    """The recording rules of one SLO, evaluated every `step_ms` over `records`.

    Windows are summed from tiles as the rules are (model.windows). The
    replay may run at a coarser `step_ms` (long generated tests); lookups follow
    Prometheus 2.x: the newest sample at or before the instant, at most the
    lookback (5m, inclusive) old, none after a stale one.
    """

    def __init__(self, records: Records, step_ms: int, raw_ms: int, events_per_unit: Fraction | None = None):
        """`events_per_unit`: bad events one unit of `Recorded.errors` stands for (the low-traffic guard's
        count); None where the records carry no event count (raw ratios): then no guard applies."""
        scale = _integer_scale(records)
        self.events_per_unit = None if events_per_unit is None else events_per_unit / (scale or 1)
        records = _integers(records)
        self.records, self.step_ms, self.raw_ms = records, step_ms, raw_ms
        errors: list[Number] = list(accumulate((r.errors if r is not None else 0 for r in records), initial=0))
        totals: list[Number] = list(accumulate((r.total if r is not None else 0 for r in records), initial=0))
        counts = list(accumulate((r is not None for r in records), initial=0))
        self._errors, self._totals, self._counts = errors, totals, counts
        self._rungs: dict[int, list[tuple[Number, Number]]] = {}
        self._windows: dict[int, list[tuple[Number, Number] | None]] = {}
        self.near_ties: set[int] = set()  # evaluations whose outcome float rounding could flip

    @property
    def steps(self) -> int:
        return len(self.records)

    def ratio(self, index: int, window_ms: int) -> Fraction | None:
        """`slo:sli_error:ratio_rate<window>` at evaluation `index`, None when not recorded."""
        sums = self.window_sums(window_ms)[index]
        return None if sums is None else Fraction(sums[0]) / sums[1]

    def burn(self, index: int, window_ms: int, slo: SLO) -> Fraction | None:
        """The burn rate over `window_ms`: the error ratio divided by the error budget."""
        ratio = self.ratio(index, window_ms)
        return None if ratio is None else ratio / Fraction(format_number(slo.error_budget))

    def window_sums(self, window_ms: int) -> list[tuple[Number, Number] | None]:
        """Per evaluation: summed errors and totals over the window, None where the ratio is not recorded."""
        cached = self._windows.get(window_ms)
        if cached is None:
            cached = self._windows[window_ms] = self._compute_window_sums(window_ms)
        return cached

    def _compute_window_sums(self, window_ms: int) -> list[tuple[Number, Number] | None]:
        if window_ms == self.raw_ms:
            return [None if r is None or r.total <= 0 else (r.errors, r.total) for r in self.records]
        plan = tiling(window_ms, self.raw_ms)
        if plan is None:  # the smeared `sum_over_time` of the shortest rate
            span = window_ms // self.step_ms
            steps = self.steps
            firsts = [0] * min(span + 1, steps) + list(range(1, steps - span))  # max(0, index - span)
            errors, totals, counts = self._errors, self._totals, self._counts
            return [
                (errors[index + 1] - errors[first], total)
                if counts[index + 1] != counts[first] and (total := totals[index + 1] - totals[first]) > 0
                else None
                for index, first in enumerate(firsts)
            ]
        return [None if total <= 0 else (errors, total) for errors, total in self._tiled(plan)]

    def _rung(self, rung_ms: int) -> list[tuple[Number, Number]]:
        """What a rung records at each evaluation (errors, total; unscaled sums: ratios cancel the `/ count`)."""
        cached = self._rungs.get(rung_ms)
        if cached is None:
            if rung_ms == self.raw_ms:
                cached = [(0, 0) if r is None else (r.errors, r.total) for r in self.records]
            else:
                plan = tiling(rung_ms, self.raw_ms)
                assert plan is not None, "a rung is tiled by the rung below"
                cached = self._tiled(plan)
            self._rungs[rung_ms] = cached
        return cached

    def _tiled(self, plan: Tiling) -> list[tuple[Number, Number]]:
        """`plan.count` lookups of the rung at offsets 0, rung, ...; a missing lookup adds 0 (`or vector(0)`)."""
        rung, step = self._rung(plan.rung_ms), self.step_ms
        if plan.rung_ms % step == 0:  # every lookup lands on an evaluation: strided running sums
            stride = plan.rung_ms // step
            span = stride * plan.count
            running: list[tuple[Number, Number]] = []
            for index, (tile_errors, tile_total) in enumerate(rung):
                if index >= stride:
                    before = running[index - stride]
                    tile_errors, tile_total = tile_errors + before[0], tile_total + before[1]
                running.append((tile_errors, tile_total))
            return [
                (sums[0] - running[index - span][0], sums[1] - running[index - span][1]) if index >= span else sums
                for index, sums in enumerate(running)
            ]
        result: list[tuple[Number, Number]] = []
        for index in range(self.steps):
            t = index * step
            errors: Number = 0
            total: Number = 0
            for k in range(plan.count):
                at = t - k * plan.rung_ms
                if at < 0:
                    break
                found = at // step
                if at - found * step <= LOOKBACK_MS:  # the newest sample, if not older than the lookback
                    errors += rung[found][0]
                    total += rung[found][1]
            result.append((errors, total))
        return result

    def tier_conditions(self, slo: SLO, tier: Tier, near_ties: bool = True) -> list[bool]:
        """Whether the tier's expression returns a sample: both windows burn faster than the factor.

        With `near_ties`, evaluations whose outcome float rounding could flip are added to `self.near_ties`.
        """
        threshold = Fraction(format_number(tier.factor)) * Fraction(format_number(slo.error_budget))
        above, below = threshold.numerator, threshold.denominator  # errors / total > above / below
        short = self._above(tier.short_window.millis, above, below, near_ties, held=True)
        long = self._above(tier.long_window.millis, above, below, near_ties)
        both = [a and b for a, b in zip(short, long, strict=True)]
        if self.events_per_unit is None:
            return both
        for index, minimum in ((0, tier.min_bad_events), (1, slo.min_total_events)):
            if minimum:
                enough = self._enough_events(tier.long_window.millis, index, minimum, near_ties)
                both = [a and b for a, b in zip(both, enough, strict=True)]
        return both

    def bad_events(self, window_ms: int) -> list[Fraction | None]:
        """Per evaluation: bad events the guard counts over the window (rules.bad_events_guard)."""
        return self.events(window_ms, 0)

    def events(self, window_ms: int, which: int) -> list[Fraction | None]:
        """Per evaluation: bad (`which` 0) or all (1) events counted over the window, None if unknown.

        Tiled windows: the tiles' errors, summed. The `avg_over_time`
        fallback: the mean errors sample x the window's length in samples.
        """
        unit = self.events_per_unit
        if unit is None:
            return [None] * self.steps
        plan = tiling(window_ms, self.raw_ms)
        if plan is not None:
            return [unit * sums[which] for sums in self._tiled(plan)]
        span = window_ms // self.step_ms
        errors, counts = (self._errors, self._totals)[which], self._counts
        result: list[Fraction | None] = []
        for index in range(self.steps):
            first = max(0, index - span)
            present = counts[index + 1] - counts[first]
            mean = Fraction(errors[index + 1] - errors[first], present) if present else None
            result.append(None if mean is None else unit * mean * Fraction(window_ms, self.raw_ms))
        return result

    def _enough_events(self, window_ms: int, which: int, minimum: int, near_ties: bool) -> list[bool]:
        counted = self.events(window_ms, which)
        if near_ties:
            for index, bad in enumerate(counted):
                if bad is not None and abs(bad - minimum) * NEAR_TIE <= max(minimum, 1):
                    self.near_ties.add(index)
        return [bad is not None and bad >= minimum for bad in counted]

    def held_sums(self, window_ms: int) -> list[tuple[Number, Number] | None]:
        """What alerts read: the shortest window's newest recorded ratio within HOLD_MS (`last_over_time`)."""
        sums = self.window_sums(window_ms)
        if window_ms != self.raw_ms:
            return sums
        held: list[tuple[Number, Number] | None] = []
        last: int | None = None
        for index, pair in enumerate(sums):
            if pair is not None:
                last = index
            held.append(None if last is None or (index - last) * self.step_ms > HOLD_MS else sums[last])
        return held

    def _above(self, window_ms: int, above: int, below: int, near_ties: bool, held: bool = False) -> list[bool]:
        """Per evaluation: the ratio over the window is recorded and above `above / below`."""
        sums: list[tuple[Number, Number] | None] = self.held_sums(window_ms) if held else self.window_sums(window_ms)
        if near_ties:
            for index, pair in enumerate(sums):
                if pair is not None:
                    limit = pair[1] * above
                    gap = pair[0] * below - limit
                    if max(gap, -gap) * NEAR_TIE <= limit:
                        self.near_ties.add(index)
        return [pair is not None and pair[0] * below > pair[1] * above for pair in sums]

    def tier_spans(self, slo: SLO, tier: Tier, near_ties: bool = True) -> tuple[AlertSpan, ...]:
        return alert_spans(self.tier_conditions(slo, tier, near_ties), self.step_ms, tier.for_.millis)

    def missing_spans(self, for_ms: int) -> tuple[AlertSpan, ...]:
        """`absent(slo:sli_total:rate<w>)`: true whenever nothing was recorded."""
        return alert_spans([record is None for record in self.records], self.step_ms, for_ms)
