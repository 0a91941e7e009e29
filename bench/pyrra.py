"""A rule set in Pyrra's generated shape, for side-by-side benchmarks (written here from its documented design).

Pyrra (pyrra-dev/pyrra, `slo/rules.go`) records one error ratio per alert
window straight from raw series (`rate(raw[w])`), and the SLO window's
totals with `increase(raw[window])`. Its four windows are the 28-day set
scaled by window / 28d and rounded to the minute, each with a `for` of half
its short window and factors 14, 7, 2, 1. The alerts keep sloforge's names per
tier (page-fast, page-slow, ticket-fast, ticket-slow) so one query reads any
rule set.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.naive import events_of
from generator.model.slo import SLO, Model
from generator.spec.promql import substitute_window
from generator.targets import labels as L
from generator.targets.rules import alert_labels, group_name, identity
from generator.targets.yaml_text import dump_yaml
from generator.units.durations import format_duration
from generator.units.numbers import format_number

MINUTE_MS = 60_000
BASE_MS = 28 * 86_400_000
TIER_NAMES = ("page-fast", "page-slow", "ticket-fast", "ticket-slow")
ALERT_NAMES = ("SLOBurnRatePageFast", "SLOBurnRatePageSlow", "SLOBurnRateTicketFast", "SLOBurnRateTicketSlow")


@dataclass(frozen=True)
class PyrraWindow:
    tier: str
    alert: str
    severity: str
    long_ms: int
    short_ms: int
    for_ms: int
    factor: int


def _scaled(base_ms: int, slo_window_ms: int) -> int:
    """`base` x window / 28d, rounded to the minute (halves away from zero, as Go's Round)."""
    exact = base_ms * slo_window_ms / BASE_MS
    return int(exact / MINUTE_MS + 0.5) * MINUTE_MS


def pyrra_windows(slo_window_ms: int) -> tuple[PyrraWindow, ...]:
    hour, minute = 3_600_000, MINUTE_MS
    shapes = (  # (long, short, for, factor, severity) for 28 days
        (hour, 5 * minute, 2 * minute, 14, "critical"),
        (6 * hour, 30 * minute, 15 * minute, 7, "critical"),
        (24 * hour, 2 * hour, hour, 2, "warning"),
        (4 * 24 * hour, 6 * hour, 3 * hour, 1, "warning"),
    )
    return tuple(
        PyrraWindow(
            tier,
            alert,
            severity,
            _scaled(long, slo_window_ms),
            _scaled(short, slo_window_ms),
            _scaled(hold, slo_window_ms),
            factor,
        )
        for tier, alert, (long, short, hold, factor, severity) in zip(TIER_NAMES, ALERT_NAMES, shapes, strict=True)
    )


def burnrate_series(window_ms: int) -> str:
    return f"slo:pyrra_burnrate{format_duration(window_ms)}"


def pyrra_group(slo: SLO, model: Model) -> dict:
    sli = events_of(slo)
    windows = pyrra_windows(slo.window.millis)
    durations = sorted({w.long_ms for w in windows} | {w.short_ms for w in windows})
    sel = L.selector(slo.service, slo.name)
    rules: list[dict] = []
    for millis in durations:
        text = format_duration(millis)
        rules.append(
            {
                "record": burnrate_series(millis),
                "expr": f"{substitute_window(sli.errors or '', text)}\n/\n{substitute_window(sli.total, text)}",
                "labels": {L.SERVICE: slo.service, L.SLO: slo.name},
            }
        )
    budget = format_number(slo.error_budget)
    for window in windows:
        short, long = burnrate_series(window.short_ms), burnrate_series(window.long_ms)
        rules.append(
            {
                "alert": window.alert,
                "expr": f"{short}{sel} > ({window.factor} * {budget})\nand\n{long}{sel} > ({window.factor} * {budget})",
                "for": format_duration(window.for_ms),
                "labels": alert_labels(slo, window.tier, window.severity, "page" if window.factor > 2 else "ticket"),
            }
        )
    return {"name": group_name(slo), "interval": model.settings.evaluation_interval.text, "rules": rules}


BURNRATE_INTERVAL = "30s"  # Pyrra's burn-rate groups
INCREASE_RECORD = "slo:pyrra_requests:increase"


def increase_interval(slo_window_ms: int) -> str:
    """Pyrra's increase-group interval: 30s below 7d, then 30s more per started week, up to 4m."""
    weeks = slo_window_ms // (7 * 86_400_000)
    return format_duration(min(30_000 * (weeks + 1), 240_000))


def grouped_increase(slo: SLO) -> str | None:
    """Pyrra's one increase rule when errors and total share a metric: `sum by (code) (increase(total[window]))`."""
    sli = events_of(slo)
    total = substitute_window(sli.total, slo.window.text).strip()
    metric = total.split("(rate(", 1)[-1].split("{", 1)[0]
    if not total.startswith("sum(rate(") or metric not in (sli.errors or ""):
        return None
    return "sum by (code) (increase(" + total[len("sum(rate(") :]


def pyrra_window_ratio(slo: SLO) -> str:
    """The SLO window's error ratio from the grouped increase rule (what Pyrra's UI and budget read)."""
    sel = f'{{{L.SERVICE}="{slo.service}",{L.SLO}="{slo.name}"'
    series = f"{INCREASE_RECORD}{slo.window.text}"
    return f'sum({series}{sel},code=~"5.."}}) / sum({series}{sel}}})'


def increase_group(slo: SLO, model: Model, pyrra_intervals: bool = False) -> dict:
    """The SLO window's error and request counts, read from raw series over the whole window."""
    sli = events_of(slo)
    window = slo.window.text
    grouped = grouped_increase(slo) if pyrra_intervals else None
    if grouped is not None:
        rule = {"record": f"{INCREASE_RECORD}{window}", "expr": grouped, "labels": identity(slo, slo.window)}
        return {
            "name": f"{group_name(slo)}-increase",
            "interval": increase_interval(slo.window.millis),
            "rules": [rule],
        }
    rules = [
        {
            "record": f"slo:pyrra_{name}:increase{window}",
            "expr": substitute_window(query, window).replace("rate(", "increase("),
            "labels": identity(slo, slo.window),
        }
        for name, query in (("errors", sli.errors or ""), ("total", sli.total))
    ]
    return {"name": f"{group_name(slo)}-increase", "interval": model.settings.evaluation_interval.text, "rules": rules}


def render_pyrra(model: Model, with_increase: bool = True, pyrra_intervals: bool = False) -> dict[str, str]:
    """{relative path: rule file}, one file per service like sloforge's.

    With `pyrra_intervals` the groups run at Pyrra's own intervals (burn rates
    every 30s, the increase group every 2m30s for 30d) and the SLO window is
    one `sum by (code) (increase(...))` rule, as Pyrra generates them; without
    it every group runs at the spec's evaluation interval (promtool tests).
    """
    files = {}
    for service in model.services:
        groups = [pyrra_group(slo, model) for slo in service.slos]
        if pyrra_intervals:
            for group in groups:
                group["interval"] = BURNRATE_INTERVAL
        if with_increase:
            groups += [increase_group(slo, model, pyrra_intervals) for slo in service.slos]
        files[f"{service.name}.yaml"] = dump_yaml(
            {"groups": groups}, "Pyrra-shaped rule set for the sloforge benchmark."
        )
    return files
