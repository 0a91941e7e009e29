"""What `sloforge explain` and `sloforge simulate` print: rich tables, or JSON for scripts.

The numbers come from `model.burn` (tier facts, the simulated timeline); this
module only lays them out.
"""

from __future__ import annotations

import math
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from generator.model.low_traffic import counts_events, smallest_page
from generator.model.slo import SLO, Tier
from generator.model.warnings import SpecWarning, percent
from generator.model.workbook import tier_facts
from generator.tools.runner import ToolResult
from generator.tools.simulate import Plan, burn_text, relative
from generator.units.durations import format_duration, human_duration
from generator.units.numbers import format_number


def _duration(seconds: float) -> str:
    return "never" if math.isinf(seconds) else human_duration(seconds)


def _seconds(seconds: float) -> float | None:
    return None if math.isinf(seconds) else round(seconds, 3)


def explain_data(slos: list[SLO], warnings: list[SpecWarning]) -> dict:
    """JSON-ready facts per SLO and tier; times in seconds (null: never)."""
    result = []
    for slo in slos:
        tiers = []
        for tier in slo.tiers:
            facts = tier_facts(slo, tier)
            tiers.append(
                {
                    "tier": tier.name,
                    "alert": tier.alert_name,
                    "notify": tier.notify,
                    "severity": tier.severity,
                    "long_window": tier.long_window.text,
                    "short_window": tier.short_window.text,
                    "for": tier.for_.text,
                    "burn_factor": format_number(facts.factor),
                    "threshold_error_ratio": format_number(facts.threshold),
                    "budget_consumed_when_firing": format_number(facts.budget_consumed),
                    "detection_at_100_percent_errors_seconds": _seconds(facts.detection_full_outage_s),
                    "detection_at_2x_threshold_seconds": _seconds(facts.detection_double_threshold_s),
                    "reset_seconds": _seconds(facts.reset_s),
                    "budget_exhausted_at_threshold_seconds": _seconds(facts.exhaustion_s),
                    "can_fire": facts.can_fire,
                    **_guard_data(slo, tier),
                }
            )
        result.append(
            {
                "service": slo.service,
                "slo": slo.name,
                "objective_percent": format_number(slo.objective),
                "window": slo.window.text,
                "error_budget": format_number(slo.error_budget),
                "expected_rate": None if slo.expected_rate is None else format_number(slo.expected_rate),
                "grouping": list(slo.grouping),  # every number holds per group (docs/grouping.md)
                "max_groups": slo.max_groups,
                "tiers": tiers,
                "warnings": [warning.message for warning in warnings if warning.slo == slo.key],
            }
        )
    return {"slos": result}


def _guard_data(slo: SLO, tier: Tier) -> dict[str, object]:
    """The low-traffic guard and, given expected_rate, the smallest incident that can fire the tier."""
    smallest = smallest_page(slo, tier)
    return {
        "min_bad_events": tier.min_bad_events if counts_events(slo.sli) else None,
        "smallest_incident_bad_events": None if smallest is None else format_number(smallest.bad_events),
        "smallest_incident_full_outage_seconds": None if smallest is None else _seconds(smallest.outage_seconds),
        "blind_at_expected_rate": None if smallest is None else smallest.blind,
    }


def _guard_cell(slo: SLO, tier: Tier) -> str:
    return str(tier.min_bad_events) if counts_events(slo.sli) else "n/a (raw)"


def _smallest_cells(slo: SLO, tier: Tier) -> tuple[str, str]:
    """(bad events, full-outage time) of the smallest page at expected_rate; compact, for the table."""
    smallest = smallest_page(slo, tier)
    if smallest is None:
        return "-", "-"
    if smallest.blind:
        return "never", "never (blind)"
    events = smallest.bad_events
    if events >= 1000:
        count = f"{float(events) / 1000:.3g}k"
    else:
        count = format_number(events.quantize(Decimal(1)) if events >= 10 else events.quantize(Decimal("0.1")))
    return count, _duration(smallest.outage_seconds)


def _tier_rows(slo: SLO) -> list[tuple[str, list[str]]]:
    """One row per fact, one column per tier: fits a terminal for the usual four tiers."""
    facts = [tier_facts(slo, tier) for tier in slo.tiers]
    return [
        ("notifies", [tier.notify for tier in slo.tiers]),
        ("long / short window", [f"{tier.long_window} / {tier.short_window}" for tier in slo.tiers]),
        ("for", [tier.for_.text for tier in slo.tiers]),
        ("burn factor", [format_number(f.factor) + "x" for f in facts]),
        ("fires at error ratio", [percent(f.threshold) + ("" if f.can_fire else " (never)") for f in facts]),
        ("budget spent at fire", [percent(f.budget_consumed) for f in facts]),
        ("detect at 100% errors", [_duration(f.detection_full_outage_s) for f in facts]),
        ("detect at 2x threshold", [_duration(f.detection_double_threshold_s) for f in facts]),
        ("reset after errors", [_duration(f.reset_s) for f in facts]),
        ("budget gone at thr.", [_duration(f.exhaustion_s) for f in facts]),
        ("min bad events", [_guard_cell(slo, tier) for tier in slo.tiers]),
        ("smallest alert: bad", [_smallest_cells(slo, tier)[0] for tier in slo.tiers]),
        ("  as a full outage", [_smallest_cells(slo, tier)[1] for tier in slo.tiers]),
    ]


def print_explain(console: Console, slos: list[SLO], warnings: list[SpecWarning]) -> None:
    for slo in slos:
        table = Table(
            title=f"{slo.key}: {format_number(slo.objective)}% over {slo.window} "
            f"(error budget {percent(slo.error_budget)} of events)",
            title_justify="left",
        )
        table.add_column("")
        for tier in slo.tiers:
            table.add_column(tier.name, justify="right", no_wrap=True)
        for label, cells in _tier_rows(slo):
            table.add_row(label, *cells)
        if not slo.tiers:
            table.add_row("no tiers enabled")
        console.print(table)
        if slo.grouping:
            console.print(grouping_note(slo), highlight=False)
        for warning in warnings:
            if warning.slo == slo.key:
                console.print(f"[yellow]warning[/yellow] {warning.message}", markup=True, highlight=False)
        console.print()
    console.print(
        "fires at: the error ratio (burn factor x budget) both windows must exceed. detect: the Workbook's time "
        "for the long window to get there, (1 - SLO) / error ratio x long window x factor, before `for`. "
        "reset: the short window empties. budget gone: the whole window's budget, burning at the threshold (thr.). "
        "min bad events: the long window must also hold this many (the low-traffic guard, docs/low-traffic.md). "
        "smallest alert: at expected_rate, the bad events that fire the tier and how long a full outage takes.",
        highlight=False,
    )


def simulation_data(plan: Plan, result: ToolResult | None) -> dict:
    return {
        "slo": plan.slo.key,
        "evaluation_interval": format_duration(plan.step_ms),
        "phases": [
            {
                "start": format_duration(phase.start_ms),
                "error_ratio": format_number(Decimal(phase.error_ratio.numerator) / phase.error_ratio.denominator),
                "traffic": phase.traffic,
                "label": label,
            }
            for phase, label in zip(plan.phases, plan.labels, strict=True)
        ],
        "events": [
            {
                "at": format_duration(event.at_ms),
                "since_errors_start": relative(event.at_ms, plan.incident_ms),
                "alert": event.alert,
                "tier": event.tier,
                "state": event.state,
                "burn_rate": event.burn,
                "approximate": event.uncertain,
            }
            for event in plan.events
        ],
        "still_active_at_end": list(plan.still_firing),
        "budget_consumed": float(plan.budget_spent),
        "verified_by_promtool": None if result is None else result.ok,
        "assertions": plan.assertions,
        "notes": list(plan.notes),
    }


def grouping_note(slo: SLO) -> str:
    """How a grouped SLO's numbers read: each holds for every group on its own."""
    labels = ", ".join(slo.grouping)
    expected = f"; {slo.max_groups} groups expected" if slo.max_groups else ""
    return (
        f"grouped by {labels}{expected}: every number holds per {labels} value, with that group's own traffic; "
        "each group burns its own budget and fires its own alerts (docs/grouping.md)"
    )


def print_simulation(console: Console, plan: Plan, result: ToolResult) -> None:
    slo = plan.slo
    console.print(
        f"Simulating {slo.key}: {format_number(slo.objective)}% over {slo.window}, "
        f"evaluated every {format_duration(plan.step_ms)}",
        highlight=False,
    )
    if slo.grouping:
        console.print(
            f"Grouped by {', '.join(slo.grouping)}: the scenario plays in one group; other groups are independent "
            "and stay silent (the generated grouped tests prove it)",
            highlight=False,
        )
    phases = Table(title="Scenario", title_justify="left")
    for heading in ("from", "for", "phase"):
        phases.add_column(heading)
    for index, (phase, label) in enumerate(zip(plan.phases, plan.labels, strict=True)):
        end = plan.phases[index + 1].start_ms if index + 1 < len(plan.phases) else plan.end_ms
        traffic = f", traffic x{phase.traffic}" if phase.traffic != 1 else ""
        phases.add_row(
            relative(phase.start_ms, plan.incident_ms), format_duration(end - phase.start_ms), label + traffic
        )
    console.print(phases)
    timeline = Table(title="Timeline (time since the errors started)", title_justify="left")
    for heading in ("at", "tier", "state", "short-window burn rate"):
        timeline.add_column(heading, overflow="fold")
    for event in plan.events:
        at = relative(event.at_ms, plan.incident_ms) + (" (±1 eval)" if event.uncertain else "")
        timeline.add_row(at, event.tier, event.state, burn_text(event.burn))
    if not plan.events:
        timeline.add_row("-", "(no alert fires)", "", "")
    console.print(timeline)
    silent = [tier.name for tier in slo.tiers if not any(event.tier == tier.name for event in plan.events)]
    if silent:
        console.print(f"Never pending: {', '.join(silent)}", highlight=False)
    if plan.still_firing:
        console.print(f"Still active when the scenario ends: {', '.join(plan.still_firing)}", highlight=False)
    spent = f"{float(plan.budget_spent) * 100:.3g}"
    console.print(f"Error budget consumed: {spent}% of the {slo.window} budget", highlight=False)
    for note in plan.notes:
        console.print(f"note: {note}", highlight=False)
    if result.ok:
        console.print(
            f"Verified: promtool test rules confirmed all {plan.assertions} predicted states against {slo.key}'s rules.",
            highlight=False,
        )
    else:
        console.print("[red]promtool disagrees with the predicted timeline:[/red]", markup=True)
        console.print(result.output, markup=False, highlight=False)
