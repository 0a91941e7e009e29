"""Placing tests: what each SLO contributes (units), the evaluation step each needs, which group and file it joins.

promtool evaluates a whole test file at one `evaluation_interval`, refuses
queries over 10,000 samples and takes time per evaluation, so each group runs
at the finest step of a short ladder (the rules' own interval, 5m, 1h, 6h, 1d)
that keeps it to a few hundred evaluations (the window-ratio check, a single
instant, at the coarsest): `<service>.test.yaml` holds the groups at the
rules' interval, `<service>.<step>.test.yaml` the others. All SLOs of a service
share each group: their inputs are disjoint, and promtool evaluates every rule
group of the file at every step anyway. An SLO whose series other SLOs read too
(availability from a histogram's `_count` beside latency from its `_bucket`,
two objectives on the same counters) gets groups of its own instead, whose
checks select that SLO's alerts only: the other SLOs' rules see its inputs too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from generator.model.slo import Service, Settings, Tier
from generator.model.synthetic import (
    ShapeMemo,
    Unsupported,
    by_metric,
    escape_label_value,
    feeds_selectors,
    plan_inputs,
    sli_selectors,
)
from generator.model.warnings import SpecWarning
from generator.targets import labels as L
from generator.targets.rule_tests.basics import (
    FIRE_FACTOR,
    QUERY_SAMPLE_LIMIT,
    RATIO_CHECK_LEAD_MS,
    STEP_LADDER_MS,
    TARGET_STEPS,
    GroupKind,
    RuleTestGroup,
    Skip,
    Subject,
    alerts_series,
    as_fraction,
    warn,
)
from generator.targets.rule_tests.firing_groups import fastest_tier, fire_ratio, fires_group, outage_group, silent_group
from generator.targets.rule_tests.low_traffic_groups import incident_group, night_group, night_start
from generator.targets.rule_tests.service_groups import ratios_group, zero_traffic_group

_ORDER = tuple(GroupKind)  # groups of a file are written in this order


@dataclass(frozen=True)
class Unit:
    """One SLO's part of a test group, with what its evaluation step must satisfy."""

    kind: GroupKind
    subject: Subject
    tier: Tier | None
    length_ms: int
    max_step_ms: int | None  # the step must leave a few evaluations per short window

    @property
    def key(self) -> tuple[int, str, int, str, GroupKind]:
        """Units with equal keys share a test group (and so its input sample interval).

        An SLO whose inputs feed other SLOs shares its groups with no one.
        """
        alone = self.subject.slo.name if self.subject.also_feeds else ""
        tier = self.tier.name if self.tier else ""
        return (_ORDER.index(self.kind), tier, self.subject.plan.interval_ms, alone, self.kind)


def units_of(subject: Subject) -> list[Unit]:
    slo = subject.slo
    specs = _unit_specs(
        slo.tiers,
        slo.error_budget,
        subject.plan.raw_ms,
        subject.plan.has_traffic,
        subject.plan.sampling == "counters",
        subject.settings.missing_sli_for.millis,
        slo.window.millis,
    )
    return [
        Unit(kind, subject, None if tier is None else slo.tiers[tier], length, max_step)
        for kind, tier, length, max_step in specs
    ]


@lru_cache(maxsize=1 << 12)
def _unit_specs(
    tiers: tuple[Tier, ...],
    budget: Decimal,
    raw: int,
    has_traffic: bool,
    counts_events: bool,
    missing_ms: int,
    window_ms: int,
) -> tuple[tuple[GroupKind, int | None, int, int | None], ...]:
    """(kind, index of the tier, length, largest step) of each unit: the same for every SLO of a shape."""
    units: list[tuple[GroupKind, int | None, int, int | None]] = []
    for index, tier in enumerate(tiers):
        long, short, hold = tier.long_window.millis, tier.short_window.millis, tier.for_.millis
        threshold = as_fraction(tier.threshold)
        limit = short // 2
        if threshold < 1:
            detect = int(long * threshold / fire_ratio(tier))
            units.append((GroupKind.FIRES, index, long + detect + 2 * raw + hold + short, limit))
        units.append((GroupKind.SILENT, index, long + short + raw + hold, limit))
    outage = fastest_tier(tiers, budget)
    if outage is not None:
        length = 2 * outage.long_window.millis + outage.for_.millis + raw + missing_ms  # then the metrics vanish
        index = next(index for index, tier in enumerate(tiers) if tier is outage)
        units.append((GroupKind.OUTAGE, index, length, outage.short_window.millis // 2))
        if counts_events and outage.min_bad_events >= 1:
            length = night_start(outage, raw) + 2 * outage.long_window.millis
            night = outage.min_bad_events >= 2 and as_fraction(outage.threshold) * FIRE_FACTOR < 1
            kinds = (GroupKind.NIGHT, GroupKind.INCIDENT) if night else (GroupKind.INCIDENT,)
            units += [(kind, index, length, outage.short_window.millis // 2) for kind in kinds]
    if has_traffic:
        units.append((GroupKind.ZERO, None, missing_ms, None))
    units.append((GroupKind.RATIOS, None, window_ms + RATIO_CHECK_LEAD_MS, None))
    return tuple(units)


def _fits(length_ms: int, max_step_ms: int | None, step: int, limit: int) -> bool:
    return length_ms // step + 4 <= limit and (max_step_ms is None or step <= max_step_ms)


def step_for(unit: Unit, fine: int) -> int | None:
    """The finest rung that keeps the group short; else the coarsest one promtool accepts."""
    return _step(unit.kind, unit.length_ms, unit.max_step_ms, fine)


@lru_cache(maxsize=1 << 12)
def _step(kind: GroupKind, length_ms: int, max_step_ms: int | None, fine: int) -> int | None:
    if kind is GroupKind.ZERO:
        return fine  # the missing-SLI timing is what it checks
    rungs = [fine] + [rung for rung in STEP_LADDER_MS if rung > fine]
    if kind is GroupKind.RATIOS:  # values at one instant: the fewer evaluations the better
        rungs.reverse()
    for rung in rungs:
        if _fits(length_ms, max_step_ms, rung, TARGET_STEPS):
            return rung
    allowed = [rung for rung in rungs if _fits(length_ms, max_step_ms, rung, QUERY_SAMPLE_LIMIT)]
    return allowed[-1] if allowed else None


def subjects_of(service: Service, settings: Settings, memo: ShapeMemo, warnings: list[SpecWarning]) -> list[Subject]:
    """The service's SLOs whose inputs can be synthesized, each with the SLOs that read its series too."""
    subjects = []
    selectors: dict[int, dict] = {}  # what each SLO's rules read, looked up once per service

    def read_by(index: int) -> dict:
        if index not in selectors:
            selectors[index] = by_metric(sli_selectors(service.slos[index]))
        return selectors[index]

    for slo in service.slos:
        try:
            plan = plan_inputs(slo, settings.evaluation_interval.millis)
        except Unsupported as exc:
            warnings.append(SpecWarning(slo.source, slo.key, f"no rule tests generated: {exc}"))
            continue
        shared = [
            other.key
            for index, other in enumerate(service.slos)
            if other is not slo and other != slo and feeds_selectors(plan, read_by(index))
        ]
        subjects.append(Subject(slo, service, settings, plan, memo, tuple(shared)))
    return subjects


def group_of(kind: GroupKind, units: list[Unit], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    group = _unscoped_group(kind, units, step, warnings)
    subject = units[0].subject
    if group is not None and subject.also_feeds:
        _scope(group, subject)
    return group


def _unscoped_group(kind: GroupKind, units: list[Unit], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    if kind is GroupKind.ZERO:
        return zero_traffic_group([unit.subject for unit in units], step)
    if kind is GroupKind.RATIOS:
        return ratios_group([unit.subject for unit in units], step, warnings)
    items = [(unit.subject, unit.tier) for unit in units if unit.tier is not None]
    builder = {
        GroupKind.FIRES: fires_group,
        GroupKind.SILENT: silent_group,
        GroupKind.OUTAGE: outage_group,
        GroupKind.NIGHT: night_group,
        GroupKind.INCIDENT: incident_group,
    }[kind]
    try:
        return builder(items, step, warnings)
    except Skip as exc:
        for subject, tier in items:
            warn(warnings, subject, tier, kind, exc)
        return None


def _scope(group: RuleTestGroup, subject: Subject) -> None:
    """Checks of the subject's alerts only: the SLOs it feeds react to its inputs in ways no test predicts.

    promtool's alert tests compare every alert of an alertname, so each becomes
    a query on ALERTS selecting this SLO, with the alert's full label set (its
    annotations are checked in the groups of SLOs that share no series).
    """
    slo = subject.slo
    group.name += f" [own group: its series are also read by {', '.join(subject.also_feeds)}]"
    service_only = f'{L.SERVICE}="{slo.service}"}}'
    for test in group.promql_expr_test:  # e.g. silent's count over every alert of the service
        test["expr"] = test["expr"].replace(service_only, f'{L.SERVICE}="{slo.service}",{L.SLO}="{slo.name}"}}')
    for test in group.alert_rule_test:
        series = alerts_series(test["alertname"], slo, "firing")
        samples = [
            {"labels": _alert_labels(test["alertname"], alert["exp_labels"]), "value": 1}
            for alert in test["exp_alerts"]
            if alert["exp_labels"].get(L.SLO) == slo.name and alert["exp_labels"].get(L.SERVICE) == slo.service
        ]
        group.promql_expr_test.append({"expr": series, "eval_time": test["eval_time"], "exp_samples": samples})
    group.alert_rule_test = []


def _alert_labels(alertname: str, labels: dict[str, str]) -> str:
    """The ALERTS series of a firing alert, in promtool's series notation."""
    pairs = {**labels, L.ALERTNAME: alertname, "alertstate": "firing"}
    return "ALERTS{" + ",".join(f'{key}="{escape_label_value(value)}"' for key, value in sorted(pairs.items())) + "}"
