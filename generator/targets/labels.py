"""Label and series names shared by every renderer: one source of truth.

Alertmanager routes, dashboards, runbooks and rule tests import these names
instead of repeating string literals, so a rename cannot break routing.
"""

from __future__ import annotations

from generator.model.severity import MISSING_SLI_TIER as MISSING_SLI_TIER  # re-exported: one spelling

SERVICE = "slo_service"
SLO = "slo_name"
WINDOW = "slo_window"
TIER = "slo_tier"
SEVERITY = "severity"
TEAM = "team"
ALERTNAME = "alertname"
MISSING_SLI_ALERT = "SLOSLIMissing"
TILE = "slo_tile"  # inside a grouped SLO's window sums only: tells the offset lookups apart (never recorded)

# Recorded series (contracts in docs/design.md).
ERROR_RATIO = "slo:sli_error:ratio_rate"  # + window, e.g. slo:sli_error:ratio_rate5m
ERRORS_RATE = "slo:sli_errors:rate"  # + shortest window: bad events per second
TOTAL_RATE = "slo:sli_total:rate"  # + shortest window: all events per second
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "slo:info"


def error_ratio_series(window: str) -> str:
    return f"{ERROR_RATIO}{window}"


def selector(service: str, slo: str, **extra: str) -> str:
    """`{slo_service="x",slo_name="y"}`: the identity matchers of one SLO."""
    pairs = {SERVICE: service, SLO: slo, **extra}
    return "{" + ",".join(f'{key}="{value}"' for key, value in pairs.items()) + "}"


NOTIFY = "slo_notify"  # page | ticket: which of the team's receivers gets the alert

# Error-budget policy (docs/budget-policy.md).
BUDGET_STAGE_INDEX = "slo:error_budget_stage:index"  # 0 = the first (healthiest) stage
BUDGET_STAGE_INFO = "slo:error_budget_stage:info"  # one series per stage: its name, index, action, freeze
BUDGET_STAGE = "slo_budget_stage"  # label: stage name
BUDGET_FREEZE_ALERT = "SLOErrorBudgetFreeze"
BUDGET_FREEZE_TIER = "budget-freeze"
