"""The PromQL an on-call person runs for one SLO: recorded series and raw SLI queries.

Shared by the runbook renderer (which prints them) and the drafting pass
(which tells the model about them and limits drafted queries to them).
"""

from __future__ import annotations

from generator.model.sli_queries import queries_for
from generator.model.slo import SLO
from generator.spec.promql import metric_names
from generator.targets import labels as L
from generator.targets.rules import windows_of
from generator.units.numbers import format_number


def recorded_series(slo: SLO) -> list[str]:
    """Series the rules record for this SLO, with the SLO's identity matchers."""
    windows = windows_of(slo)
    sel = L.selector(slo.service, slo.name)
    names = [f"{L.ERRORS_RATE}{windows[0]}", f"{L.TOTAL_RATE}{windows[0]}"]
    names += [L.error_ratio_series(window.text) for window in windows]
    names += [L.OBJECTIVE, L.ERROR_BUDGET, L.BUDGET_REMAINING, L.INFO]
    return [name + sel for name in names]


def raw_queries(slo: SLO) -> dict[str, str]:
    """The SLI's own PromQL over the shortest window, with `rate` as the spec has it (the rules read exact deltas)."""
    queries = queries_for(slo.sli, windows_of(slo)[0], slo.grouping)
    found = {"errors": queries.errors, "total": queries.total, "good": queries.good}
    return {key: value for key, value in found.items() if value}


def error_ratio_query(slo: SLO, window: str) -> str:
    return L.error_ratio_series(window) + L.selector(slo.service, slo.name)


def burn_rate_query(slo: SLO, window: str) -> str:
    """Burn rate over `window`: 1 means the budget lasts exactly the SLO window."""
    return f"{error_ratio_query(slo, window)} / {format_number(slo.error_budget)}"


def budget_remaining_query(slo: SLO) -> str:
    return L.BUDGET_REMAINING + L.selector(slo.service, slo.name)


def allowed_metrics(slo: SLO) -> set[str]:
    """Metric names drafted PromQL may use: the SLO's own and the recorded ones."""
    names: set[str] = set()
    for query in raw_queries(slo).values():
        names |= metric_names(query)
    return names | {series.split("{", 1)[0] for series in recorded_series(slo)}
