"""Groups that make a tier fire: a bit above its threshold (fires, then resets), a full outage, and a bit below (silent).

All SLOs of a service share these groups: their input series are disjoint
(checked), and promtool evaluates every rule group of the file at every step
anyway, so one group per (kind, tier) keeps the cost linear in the number of
SLOs. Per-SLO checks select by `slo_name`; checks on a whole alertname list
every SLO's alert at a time where each is certain. The numbers come from the
label-free plan shape, remembered in the render's `ShapeMemo`.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from generator.model.severity import missing_sli_class
from generator.model.slo import SLO, Tier
from generator.model.synthetic import InputPlan, Phase, Synthesis, phases_key, quantize, resolution, synthesize
from generator.model.warnings import SpecWarning
from generator.model.windows import windows_of
from generator.model.workbook import detection_seconds, fires_at_all
from generator.targets import labels as L
from generator.targets.rule_tests.basics import (
    FIRE_FACTOR,
    OUTAGE_TOLERANCE,
    RATIO_TOLERANCE,
    SILENT_FACTOR,
    Boundary,
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
    multiple,
    percent,
    warn,
)
from generator.targets.rule_tests.expected_text import burn_alert
from generator.units.durations import human_duration


def fastest_page_tier(slo: SLO) -> Tier | None:
    """The tier that should catch a full outage first: page tiers first, then any that can fire."""
    return fastest_tier(slo.tiers, slo.error_budget)


def fastest_tier(tiers: tuple[Tier, ...], error_budget: Decimal) -> Tier | None:
    candidates = [tier for tier in tiers if fires_at_all(tier)]
    pages = [tier for tier in candidates if tier.notify == "page"] or candidates
    if not pages:
        return None
    return min(pages, key=lambda tier: (detection_seconds(tier, error_budget, Decimal(1)), tier.name))


def fire_ratio(tier: Tier) -> Fraction:
    return min(as_fraction(tier.threshold) * FIRE_FACTOR, Fraction(1))


def _rise(subject: Subject, tier: Tier, step: int, nudge: int, ratio: Fraction | None = None) -> Part:
    """Clean traffic for a long window, then errors; when does the tier first fire?"""
    slo, plan = subject.slo, subject.plan
    bits, ratio, phases, start, pending, fired = subject.memo.outcome(
        (
            "rise",
            subject.memo.shape_id(plan),
            slo.error_budget,
            tier,
            step,
            nudge,
            None if ratio is None else phases_key((Phase(0, ratio),)),
        ),
        lambda: _rise_numbers(plan.shape, slo, tier, step, nudge, ratio),
    )
    part = Part(subject, tier, Synthesis(subject.plan, bits), ratio, phases, start, pending, fired)
    part.nudge = nudge
    return part


def _rise_numbers(
    shape: InputPlan, slo: SLO, tier: Tier, step: int, nudge: int, ratio: Fraction | None
) -> tuple[int, Fraction, tuple[Phase, ...], int, int, int]:
    wanted = fire_ratio(tier) if ratio is None else ratio
    synthesis = synthesize(shape, [wanted], RATIO_TOLERANCE if ratio is None else OUTAGE_TOLERANCE)
    ratio = min(synthesis.quantize(wanted) + Fraction(nudge, 2**synthesis.bits), Fraction(1))
    start = ceil_to(tier.long_window.millis, step)
    phases = (Phase(0, Fraction(0)), Phase(start, ratio))
    expected = int(tier.long_window.millis * as_fraction(tier.threshold) / ratio) + shape.raw_ms + tier.for_.millis
    for horizon in (start + expected * 5 // 4 + 4 * step, start + 2 * tier.long_window.millis + expected):
        evaluation = evaluate(synthesis, phases, step, ceil_to(horizon, step))
        firing = [span for span in evaluation.tier_spans(slo, tier, near_ties=False) if span.firing_ms is not None]
        if firing:
            return synthesis.bits, ratio, phases, start, firing[0].pending_ms, firing[0].firing_ms or 0
    raise Skip(f"the model predicts {tier.name} never fires at {percent(ratio)} errors")


def _firing_at(part: Part, deadline: int, step: int, stop: bool) -> tuple[dict, int]:
    """The part's expected alert at `deadline` (errors stop there when `stop`) and when it resolves."""
    subject, tier = part.subject, part.tier
    assert tier is not None
    plan, bits, before = subject.plan, part.synthesis.bits, part.phases
    phases, short, resolved = subject.memo.outcome(
        (
            "firing",
            subject.memo.shape_id(plan),
            bits,
            subject.slo.error_budget,
            tier,
            phases_key(before),
            deadline,
            step,
            stop,
        ),
        lambda: _firing_numbers(Synthesis(plan.shape, bits), subject.slo, tier, before, deadline, step, stop),
    )
    part.phases = phases
    return burn_alert(subject.slo, tier, subject.settings, short), resolved


def _firing_numbers(
    synthesis: Synthesis, slo: SLO, tier: Tier, phases: tuple[Phase, ...], deadline: int, step: int, stop: bool
) -> tuple[tuple[Phase, ...], Fraction, int]:
    phases = phases + ((Phase(deadline, Fraction(0)),) if stop else ())
    end = deadline + tier.short_window.millis + synthesis.plan.raw_ms + tier.for_.millis + 4 * step
    evaluation = evaluate(synthesis, phases, step, end if stop else deadline)
    span = next((s for s in evaluation.tier_spans(slo, tier, near_ties=False) if s.firing_at(deadline)), None)
    if span is None or (stop and span.resolved_ms is None):
        raise Skip(f"the model predicts {tier.name} is not firing at {format_duration(deadline)} or never resets")
    short = evaluation.ratio(deadline // step, tier.short_window.millis) or Fraction(0)
    return phases, short, span.resolved_ms or 0


def _merged_firing(
    items: list[tuple[Subject, Tier]], step: int, warnings: list[SpecWarning], *, outage: bool
) -> tuple[list[Part], int, list[dict]]:
    """Each SLO rises to firing; one deadline after the last of them fires; errors stop there (not for outages)."""
    nudges: dict[str, int] = {}
    kind = GroupKind.OUTAGE if outage else GroupKind.FIRES
    for _ in range(4):
        parts = []
        for subject, tier in list(items):
            try:
                ratio = Fraction(1) if outage else None
                parts.append(_rise(subject, tier, step, nudges.get(subject.slo.key, 0), ratio))
            except Skip as exc:
                warn(warnings, subject, tier, kind, exc)
                items = [item for item in items if item[0] is not subject]
        if not parts:
            return [], 0, []
        deadline = max(part.fired for part in parts) + step
        alerts, retry = [], False
        for part in list(parts):
            try:
                alert, part.resolved = _firing_at(part, deadline, step, stop=not outage)
                alerts.append(alert)
            except Skip as exc:
                if isinstance(exc, Boundary) and not outage and part.nudge < 3:
                    nudges[part.subject.slo.key] = part.nudge + 1  # one quantum more error: other text
                    retry = True
                    continue
                warn(warnings, part.subject, part.tier, kind, exc)
                parts.remove(part)
                items = [item for item in items if item[0] is not part.subject]
        if not retry:
            return parts, deadline, alerts
    raise Skip("the alert text stays on a rounding boundary")


def fires_on_time(group: RuleTestGroup, part: Part, step: int) -> None:
    """This SLO's alert: no firing sample until two evaluations before it should fire, firing one after."""
    assert part.tier is not None
    series = alerts_series(part.tier.alert_name, part.subject.slo, "firing")
    quiet = part.fired - 2 * step
    if quiet > 0:
        group.expr(quiet, f"count_over_time({series}[{format_duration(quiet)}])", [])
    group.expr(part.fired + step, f"count({series})", [{"labels": "{}", "value": 1}])


def fires_group(items: list[tuple[Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Clean traffic for a long window, then errors a bit above each SLO's threshold until all fire, then none."""
    parts, deadline, alerts = _merged_firing(items, step, warnings, outage=False)
    if not parts:
        return None
    tier = parts[0].tier
    assert tier is not None
    reset_check = max(part.resolved for part in parts) + step
    details = "; ".join(
        f"{part.subject.slo.name} at {percent(part.ratio)} errors "
        f"({multiple(part.ratio, as_fraction(part.tier.threshold))}x) fires within "  # type: ignore[union-attr]
        f"{format_duration(part.fired + step - part.start)}"
        for part in parts
    )
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} {tier.name}: fires a bit above the threshold, not two evaluations "
        f"earlier, and stops once errors stop ({details})",
        parts[0].subject.plan.interval_ms,
        inputs_of(parts, reset_check, step),
    )
    first_quiet = min(part.pending for part in parts) - 2 * step
    if first_quiet >= 0:
        group.alert(first_quiet, tier.alert_name, [])
    for part in parts:
        fires_on_time(group, part, step)
    group.alert(deadline, tier.alert_name, sorted(alerts, key=str))
    for part in parts:  # each SLO's own reset, one evaluation after the model's
        series = alerts_series(tier.alert_name, part.subject.slo)
        group.expr(part.resolved + step, f"count({series})", [])
    group.alert(reset_check, tier.alert_name, [])
    return group


def outage_group(items: list[tuple[Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Clean traffic, then every event fails: the fastest page tier fires within its detection time."""
    parts, deadline, alerts = _merged_firing(items, step, warnings, outage=True)
    if not parts:
        return None
    tier = parts[0].tier
    assert tier is not None
    details = "; ".join(
        f"{part.subject.slo.name} within {format_duration(part.fired + step - part.start)} (Workbook detection "
        f"{human_duration(detection_seconds(tier, part.subject.slo.error_budget, Decimal(1)))})"
        for part in parts
    )
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} full outage: {tier.name} fires within its detection time, plus for "
        f"{tier.for_}, the rate window filling and one evaluation ({details})",
        parts[0].subject.plan.interval_ms,
        inputs_of(parts, deadline, step),
    )
    for part in parts:
        fires_on_time(group, part, step)
    group.alert(deadline, tier.alert_name, sorted(alerts, key=str))
    _metrics_vanish(group, parts, deadline, step)
    return group


def _metrics_vanish(group: RuleTestGroup, parts: list[Part], deadline: int, step: int) -> None:
    """The inputs end at `deadline`, as when the outage takes the metrics with it: once the
    SLI is absent for `missing_sli_for`, the page still fires and SLOSLIMissing notifies like it."""
    tier = parts[0].tier
    assert tier is not None
    blind = max(
        ceil_to(deadline + windows_of(p.subject.slo)[0].millis + p.subject.settings.missing_sli_for.millis, step)
        for p in parts
    )
    at = blind + 2 * step
    group.name += (
        f"; then the metrics vanish: at {format_duration(at)} {tier.name} still fires and SLOSLIMissing notifies"
    )
    one = [{"labels": "{}", "value": 1}]
    for part in parts:
        slo = part.subject.slo
        group.expr(at, f"count({alerts_series(tier.alert_name, slo, 'firing')})", one)
        missing = (
            alerts_series(L.MISSING_SLI_ALERT, slo, "firing")[:-1] + f',{L.NOTIFY}="{missing_sli_class(slo)[0]}"}}'
        )
        group.expr(at, f"count({missing})", one)


def silent_group(items: list[tuple[Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Errors a bit below each threshold (100% for a tier that cannot fire): never even pending."""
    parts = []
    for subject, tier in items:
        bits, ratio, phases = _silent_phases(tier.threshold)
        parts.append(Part(subject, tier, Synthesis(subject.plan, bits), ratio, phases))
    end = max(
        ceil_to(t.long_window.millis + t.short_window.millis + s.plan.raw_ms + t.for_.millis + step, step)
        for s, t in items
    )
    kept = []
    for part in parts:
        try:
            plan, slo = part.subject.plan, part.subject.slo
            memo = part.subject.memo
            key = ("silent", memo.shape_id(plan), slo.error_budget, part.tier, step, end)  # the tier sets the phases
            memo.outcome(key, lambda part=part: _never_pending(part, step, end))  # type: ignore[misc]
            kept.append(part)
        except Skip as exc:
            warn(warnings, part.subject, part.tier, GroupKind.SILENT, exc)
    if not kept:
        return None
    first = kept[0].tier
    assert first is not None
    tier = first
    details = "; ".join(
        f"{part.subject.slo.name} at {percent(part.ratio)} errors "
        f"({multiple(part.ratio, as_fraction(part.tier.threshold))}x"  # type: ignore[union-attr]
        f"{', a tier that can never fire' if part.tier.threshold >= 1 else ''})"  # type: ignore[union-attr]
        for part in kept
    )
    service = kept[0].subject.service.name
    group = RuleTestGroup(
        f"{service} {tier.name}: silent a bit below the threshold for {format_duration(end)} ({details})",
        kept[0].subject.plan.interval_ms,
        inputs_of(kept, end, step),
    )
    group.alert(end, tier.alert_name, [])
    alerts = f'ALERTS{{{L.ALERTNAME}="{tier.alert_name}",{L.SERVICE}="{service}"}}'
    group.expr(end, f"count_over_time({alerts}[{format_duration(end)}])", [])
    return group


@lru_cache(maxsize=1 << 10)
def _silent_phases(threshold: Decimal) -> tuple[int, Fraction, tuple[Phase, ...]]:
    """A bit below the threshold (100% for a tier that cannot fire): resolution, ratio, phases."""
    value = as_fraction(threshold)
    wanted = value * SILENT_FACTOR if value < 1 else Fraction(1)
    bits = resolution((wanted,), RATIO_TOLERANCE)
    ratio = quantize(wanted, bits)
    return bits, ratio, (Phase(0, ratio),)


def _never_pending(part: Part, step: int, end: int) -> None:
    synthesis = Synthesis(part.synthesis.plan.shape, part.synthesis.bits)
    evaluation = evaluate(synthesis, part.phases, step, end)
    if evaluation.tier_spans(part.subject.slo, part.tier, near_ties=False):  # type: ignore[arg-type]
        raise Skip(f"the model predicts it becomes pending at {percent(part.ratio)} errors")
