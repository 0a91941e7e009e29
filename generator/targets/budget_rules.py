"""Rules of the error-budget policy: the current stage per SLO, and the freeze alert.

The stage is computed from `slo:period_error_budget_remaining:ratio`, so it
reads one recorded series. Each freezing stage has its own alert rule (same
alert name, its stage as a label), so annotations are static text and a move
to a worse stage notifies again.
"""

from __future__ import annotations

from generator.model.budget_policy import BudgetStage, freezing
from generator.model.slo import SLO
from generator.targets import labels as L
from generator.targets.prose import escape_template
from generator.targets.rule_types import AlertingRule, RecordingRule
from generator.units.numbers import format_number

FREEZE_FOR = "10m"  # the budget moves slowly; this absorbs a wobble around a boundary


def remaining_series(slo: SLO) -> str:
    return f"{L.BUDGET_REMAINING}{L.selector(slo.service, slo.name)}"


def stage_index_expr(slo: SLO) -> str:
    """`(remaining > t0) * 0 + 0 or (remaining > t1) * 0 + 1 or ... or remaining * 0 + last`."""
    remaining = remaining_series(slo)
    parts = []
    for index, stage in enumerate(slo.budget_stages):
        if stage.min_remaining is None:
            parts.append(f"{remaining} * 0 + {index}")
        else:
            parts.append(f"({remaining} > {format_number(stage.min_remaining)}) * 0 + {index}")
    return "\nor\n".join(parts)


def stage_info_labels(slo: SLO, ident: dict[str, str], index: int, stage: BudgetStage) -> dict[str, str]:
    return {
        **ident,
        L.BUDGET_STAGE: stage.name,
        "stage_index": str(index),
        **({} if stage.min_remaining is None else {"min_remaining": format_number(stage.min_remaining)}),
        "action": stage.action,
        "review": stage.review.text,
        "freeze": "true" if stage.freeze else "false",
    }


def budget_stage_rules(slo: SLO, ident: dict[str, str]) -> list[RecordingRule]:
    rules: list[RecordingRule] = [{"record": L.BUDGET_STAGE_INDEX, "expr": stage_index_expr(slo), "labels": ident}]
    for index, stage in enumerate(slo.budget_stages):
        rules.append(
            {"record": L.BUDGET_STAGE_INFO, "expr": "vector(1)", "labels": stage_info_labels(slo, ident, index, stage)}
        )
    return rules


def freeze_alert_rules(slo: SLO, labels: dict[str, str], runbook: str, dashboard: str) -> list[AlertingRule]:
    """One `SLOErrorBudgetFreeze` rule per freezing stage; its value is the budget remaining."""
    rules: list[AlertingRule] = []
    for index in freezing(slo.budget_stages):
        stage = slo.budget_stages[index]
        rules.append(
            {
                "alert": L.BUDGET_FREEZE_ALERT,
                "expr": (
                    f"{remaining_series(slo)}\n"
                    f"and\n"
                    f"{L.BUDGET_STAGE_INDEX}{L.selector(slo.service, slo.name)} == {index}"
                ),
                "for": FREEZE_FOR,
                "labels": {**labels, L.BUDGET_STAGE: stage.name},
                "annotations": {
                    "summary": (
                        f"{slo.service}/{slo.name}: error budget in stage {stage.name} "
                        "({{ $value | humanizePercentage }} remaining)"
                    ),
                    "description": (
                        f"The error budget of {slo.service}/{slo.name} ({format_number(slo.objective)}% over "
                        f"{slo.window}) has {{{{ $value | humanizePercentage }}}} left: stage {stage.name}. "
                        f"Policy: {escape_template(stage.action)}. Review every {stage.review}."
                    ),
                    "stage": stage.name,
                    "action": escape_template(stage.action),
                    "budget_remaining": "{{ $value | humanizePercentage }}",
                    "runbook_url": runbook,
                    "dashboard_url": dashboard,
                },
            }
        )
    return rules
