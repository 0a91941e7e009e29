"""Groups over every SLO of a service at once: no data, zero traffic, the recorded ratio of every window."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from generator.model.slo import Service, Settings
from generator.model.synthetic import InputPlan, Phase, Synthesis, synthesize
from generator.model.warnings import SpecWarning
from generator.model.windows import windows_of
from generator.targets import labels as L
from generator.targets.rule_tests.basics import (
    RATIO_CHECK_LEAD_MS,
    RATIO_TOLERANCE,
    RuleTestGroup,
    Skip,
    Subject,
    as_fraction,
    ceil_to,
    close_to,
    evaluate,
    format_duration,
    identity,
    sample_labels,
    slo_selector,
    warn,
)
from generator.targets.rule_tests.expected_text import missing_alert


def _missing_firing(settings: Settings, step: int) -> int:
    return ceil_to(settings.missing_sli_for.millis, step)


def zero_traffic_group(subjects: list[Subject], step: int) -> RuleTestGroup:
    """Counters that stand still: no burn alert; `SLOSLIMissing` only where the SLI becomes absent."""
    service, settings = subjects[0].service, subjects[0].settings
    fires = _missing_firing(settings, step)
    end = fires + step
    inputs, present, checks = [], set(), []
    phases = (Phase(0, Fraction(0), traffic=0),)
    for subject in subjects:
        synthesis = subject.synthesis([])
        plan = subject.plan
        missing, recorded = subject.memo.outcome(
            ("zero", subject.memo.shape_id(plan), synthesis.bits, step, end, settings.missing_sli_for.millis),
            lambda plan=plan, bits=synthesis.bits: _zero_traffic_numbers(  # type: ignore[misc]
                Synthesis(plan.shape, bits), phases, step, end, settings
            ),
        )
        inputs += synthesis.input_series(phases, end, step, subject.memo)
        if not missing:
            present.add(subject.slo.key)
        raw = windows_of(subject.slo)[0]
        total = f"{L.TOTAL_RATE}{raw}"
        labels = sample_labels(total, identity(subject.slo, raw.text))
        checks.append((f"{total}{slo_selector(subject.slo)}", [{"labels": labels, "value": 0}] if recorded else []))
    silent = ", ".join(sorted(key.split("/", 1)[1] for key in present)) or "none"
    group = RuleTestGroup(
        f"{service.name}: zero traffic (counters stand still): no burn alert; SLOSLIMissing stays silent where zero "
        f"events are recorded as 0 ({silent}) and fires where a ratio of no events is undefined or the SLI is absent",
        subjects[0].plan.interval_ms,
        inputs,
    )
    if fires - step >= 0:
        group.alert(fires - step, L.MISSING_SLI_ALERT, [])
    expected = [missing_alert(slo, settings) for slo in service.slos if slo.key not in present]
    group.alert(end, L.MISSING_SLI_ALERT, sorted(expected, key=str))
    for alertname in sorted({tier.alert_name for slo in service.slos for tier in slo.tiers}):
        group.alert(end, alertname, [])
    for expr, samples in checks:
        group.expr(end, expr, samples)
    return group


def _zero_traffic_numbers(
    synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int, settings: Settings
) -> tuple[bool, bool]:
    """Whether SLOSLIMissing fires at `end`, and whether a total is recorded there."""
    evaluation = evaluate(synthesis, phases, step, end)
    missing = any(span.firing_at(end) for span in evaluation.missing_spans(settings.missing_sli_for.millis))
    return missing, evaluation.records[end // step] is not None


def ratios_group(subjects: list[Subject], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Phases of different error ratios and traffic: every recorded window ratio equals the model's."""
    end = ceil_to(max(subject.slo.window.millis for subject in subjects) + RATIO_CHECK_LEAD_MS, step)
    inputs: list[dict] = []
    checks: list[tuple[str, list[dict]]] = []
    kinds = set()
    for subject in subjects:
        slo, plan = subject.slo, subject.plan
        windows = windows_of(slo)
        millis = tuple(w.millis for w in windows)
        try:
            bits, phases, ratios, remaining = subject.memo.outcome(
                ("ratios", subject.memo.shape_id(plan), slo.error_budget, slo.window.millis, millis, step, end),
                lambda plan=plan, slo=slo, millis=millis: _recorded_ratios(  # type: ignore[misc]
                    plan, slo.error_budget, slo.window.millis, millis, step, end
                ),
            )
        except Skip as exc:
            warn(warnings, subject, None, "recorded ratios", exc)
            continue
        kinds.add(
            {"counters": "traffic-weighted", "samples": "weighted by samples"}.get(
                subject.plan.sampling, "time-averaged (raw ratio)"
            )
        )
        inputs += Synthesis(plan, bits).input_series(phases, end, step, subject.memo)
        values = [(L.error_ratio_series(w.text), w.text, value) for w, value in zip(windows, ratios, strict=True)]
        if remaining is not None:
            values.append((L.BUDGET_REMAINING, slo.window.text, remaining))
        selector = slo_selector(slo)
        for name, window_text, value in values:
            series = f"{name}{selector}"
            if value is None:
                checks.append((series, []))
            else:
                labels = sample_labels("", identity(slo, window_text))
                checks.append((close_to(series, value), [{"labels": labels, "value": 1}]))
    if not inputs:
        return None
    group = RuleTestGroup(
        f"{subjects[0].service.name}: recorded error ratios over every window ({', '.join(sorted(kinds))}); "
        "data older than the SLO window is left out",
        subjects[0].plan.interval_ms,
        inputs,
    )
    for expr, samples in checks:
        group.expr(end, expr, samples)
    return group


def _recorded_ratios(
    plan: InputPlan, error_budget: Decimal, window: int, windows: tuple[int, ...], step: int, end: int
) -> tuple[int, tuple[Phase, ...], tuple[float | None, ...], float | None]:
    """Resolution, phases, the recorded ratio over each window at `end` and the budget left (floats)."""
    budget = as_fraction(error_budget)
    weighted = plan.sampling == "counters"
    wanted = [
        Fraction(1, 2),
        min(budget / 2, Fraction(1)),
        min(budget * 3, Fraction(1)),
        min(budget * 2, Fraction(1)),
    ]
    synthesis = synthesize(plan.shape, wanted, RATIO_TOLERANCE)
    junk, first, second, third = (synthesis.quantize(ratio) for ratio in wanted)
    phases = (
        Phase(0, junk),  # older than the SLO window: must not count
        Phase(end - window, first),
        Phase(end - window // 2, second, traffic=3 if weighted else 1),
        Phase(end - 90 * 60_000, third),
    )
    evaluation = evaluate(synthesis, phases, step, end)
    ratios = [evaluation.ratio(end // step, millis) for millis in windows]
    ratio = evaluation.ratio(end // step, window)
    remaining = None if ratio is None else float(1 - ratio / budget)
    return synthesis.bits, phases, tuple(None if r is None else float(r) for r in ratios), remaining


def no_data_group(service: Service, settings: Settings, step: int) -> RuleTestGroup:
    """No series at all: every SLO's SLOSLIMissing fires after `missing_sli_for`, no burn alert ever."""
    fires = _missing_firing(settings, step)
    group = RuleTestGroup(
        f"{service.name}: no data: SLOSLIMissing fires for every SLO after {settings.missing_sli_for}, no burn alert",
        step,
    )
    if fires - step >= 0:
        group.alert(fires - step, L.MISSING_SLI_ALERT, [])
    group.alert(fires, L.MISSING_SLI_ALERT, sorted((missing_alert(slo, settings) for slo in service.slos), key=str))
    for alertname in sorted({tier.alert_name for slo in service.slos for tier in slo.tiers}):
        group.alert(fires, alertname, [])
    burning = f'ALERTS{{{L.ALERTNAME}!="{L.MISSING_SLI_ALERT}",{L.SERVICE}="{service.name}"}}'
    group.expr(fires, f"count_over_time({burning}[{format_duration(fires)}])", [])
    return group
