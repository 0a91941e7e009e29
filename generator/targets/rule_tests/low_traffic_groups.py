"""Low-traffic groups (`model.low_traffic`): a handful of bad events on a trickle does not page; a real outage does.

Busy days, then traffic stops for QUIET_MS, then a trickle of events per
minute for a long window. On that trickle a handful of bad events (one fewer
than the guard) is far above the threshold but must not page (night), while
a real outage pages once the long window holds the guard's count (incident).
The model predicts both with the guard and, to prove the night test can
fail, without it: the same handful must page a guard-free rule.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from generator.model.slo import Tier
from generator.model.synthetic import Phase, Synthesis
from generator.model.warnings import SpecWarning
from generator.targets.rule_tests.basics import (
    FIRE_FACTOR,
    GroupKind,
    Part,
    RuleTestGroup,
    Skip,
    Subject,
    alerts_series,
    as_fraction,
    ceil_to,
    evaluate,
    format_duration,
    inputs_of,
    warn,
)
from generator.targets.rule_tests.firing_groups import fires_on_time
from generator.units.numbers import format_number

QUIET_MS = 30 * 60_000  # the night: no traffic at all (rates drop to 0, the series stay)


def night_start(tier: Tier, raw_ms: int) -> int:
    """When the trickle is a long window old: the handful (or the outage) starts here."""
    return 2 * raw_ms + QUIET_MS + tier.long_window.millis


def _trickle(subject: Subject, tier: Tier, handful: bool) -> tuple[Synthesis, Fraction]:
    """Full-outage resolution and a traffic multiple (thousandths of events per input sample).

    Night: low enough that `min_bad_events - 1` bad events over the long
    window burn a bit above the threshold (FIRE_FACTOR). Incident: a full
    outage collects `min_bad_events` in half the long window.
    """
    synthesis = subject.synthesis([Fraction(1)])
    interval_s = Fraction(subject.plan.interval_ms, 1000)
    long_s = Fraction(tier.long_window.millis, 1000)
    if handful:
        per_second = (tier.min_bad_events - 1) / (FIRE_FACTOR * as_fraction(tier.threshold) * long_s)
        per_sample = Fraction(math.floor(per_second * interval_s * 1000), 1000)
    else:
        per_second = 2 * tier.min_bad_events / long_s
        per_sample = Fraction(math.ceil(per_second * interval_s * 1000), 1000)
    if per_sample <= 0:
        raise Skip("its threshold is too high for a handful of bad events to burn faster than it")
    return synthesis, per_sample / interval_s / synthesis.base_rate


def _night_phases(subject: Subject, tier: Tier, handful: bool) -> tuple[Synthesis, tuple[Phase, ...], Fraction]:
    """Busy, quiet, trickle; then `min_bad_events - 1` bad events (handful) or a full outage."""
    synthesis, traffic = _trickle(subject, tier, handful)
    raw = subject.plan.raw_ms
    start = night_start(tier, raw)
    phases: tuple[Phase, ...] = (
        Phase(0, Fraction(0)),
        Phase(2 * raw, Fraction(0), traffic=0),
        Phase(2 * raw + QUIET_MS, Fraction(0), traffic=traffic),
        Phase(start, Fraction(1), traffic=traffic),
    )
    rate = synthesis.base_rate * traffic  # events per second on the trickle
    if handful:
        burst_ms = int((tier.min_bad_events - 1) / rate * 1000)
        phases += (Phase(start + burst_ms, Fraction(0), traffic=traffic),)
    return synthesis, phases, rate


def _spans(subject: Subject, tier: Tier, synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int):
    """The tier's alert spans with the guard, and without it (what the rules did before)."""
    evaluation = evaluate(synthesis, phases, step, end)
    guarded = evaluation.tier_spans(subject.slo, tier, near_ties=False)
    unguarded = evaluation.tier_spans(subject.slo, replace(tier, min_bad_events=0), near_ties=False)
    return guarded, unguarded


def night_group(items: list[tuple[Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """The night scenario: a handful of bad events on a trickle of traffic pages a guard-free rule, not this one."""
    parts, details = [], []
    end = 0
    for subject, tier in items:
        try:
            synthesis, phases, rate = _night_phases(subject, tier, handful=True)
            # until the handful's last bad event has left the long window: the tier cannot fire after that
            length = ceil_to(phases[-1].start_ms + tier.long_window.millis + subject.plan.raw_ms + step, step)
            guarded, unguarded = _spans(subject, tier, synthesis, phases, step, length)
            if guarded:
                raise Skip(f"the model predicts {tier.min_bad_events - 1} bad events page even with the guard")
            if not any(span.firing_ms is not None for span in unguarded):
                raise Skip("the model predicts the handful would not page a guard-free rule either")
        except Skip as exc:
            warn(warnings, subject, tier, GroupKind.NIGHT, exc)
            continue
        end = max(end, length)
        parts.append(Part(subject, tier, synthesis, Fraction(1), phases))
        details.append(
            f"{subject.slo.name}: {tier.min_bad_events - 1} bad events at {format_number(Decimal(rate.numerator) / rate.denominator * 60)} "
            f"events/min, below min_bad_events {tier.min_bad_events}"
        )
    if not parts:
        return None
    first = parts[0].tier
    assert first is not None
    tier = first
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} {tier.name} low traffic: busy, {format_duration(QUIET_MS)} without "
        f"traffic, then a trickle with a handful of bad events: far above the threshold, no page ("
        + "; ".join(details)
        + ")",
        parts[0].subject.plan.interval_ms,
        inputs_of(parts, end, step),
    )
    group.alert(end, tier.alert_name, [])
    for part in parts:
        series = alerts_series(tier.alert_name, part.subject.slo)
        group.expr(end, f"count_over_time({series}[{format_duration(end)}])", [])
    return group


def incident_group(items: list[tuple[Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """A real outage on the same trickle pages, once the long window holds `min_bad_events` bad events."""
    parts, details = [], []
    for subject, tier in items:
        try:
            synthesis, phases, rate = _night_phases(subject, tier, handful=False)
            start = night_start(tier, subject.plan.raw_ms)
            guarded, unguarded = _spans(subject, tier, synthesis, phases, step, start + tier.long_window.millis)
            fired = next((span.firing_ms for span in guarded if span.firing_ms is not None), None)
            if fired is None:
                raise Skip("the model predicts a full outage on the trickle does not page within its long window")
        except Skip as exc:
            warn(warnings, subject, tier, GroupKind.INCIDENT, exc)
            continue
        part = Part(subject, tier, synthesis, Fraction(1), phases, start=start, fired=fired)
        parts.append(part)
        before = next((span.firing_ms for span in unguarded if span.firing_ms is not None), fired)
        details.append(
            f"{subject.slo.name} within {format_duration(fired + step - start)} "
            f"({tier.min_bad_events} bad events at {format_number(Decimal(rate.numerator) / rate.denominator * 60)} "
            f"events/min; a guard-free rule: {format_duration(before + step - start)})"
        )
    if not parts:
        return None
    first = parts[0].tier
    assert first is not None
    tier = first
    deadline = max(part.fired for part in parts) + step
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} {tier.name} low traffic: busy, {format_duration(QUIET_MS)} without "
        f"traffic, then a full outage on a trickle pages once the long window holds min_bad_events ("
        + "; ".join(details)
        + ")",
        parts[0].subject.plan.interval_ms,
        inputs_of(parts, deadline, step),
    )
    for part in parts:
        fires_on_time(group, part, step)
    return group
