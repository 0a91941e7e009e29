"""Error-budget policy: stages by budget remaining, and what each stage allows.

The common SRE form (healthy > 50% > warning > 30% > critical > 10% > emergency)
is the default. A stage applies while the budget remaining over the SLO window
is strictly above its `min_remaining`; the last stage has none and catches the
rest, an exhausted (negative) budget included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator.units.durations import Duration, parse_duration


@dataclass(frozen=True)
class BudgetStage:
    name: str
    min_remaining: Decimal | None  # fraction of the budget (0.5 = 50%); None only for the last stage
    action: str
    review: Duration  # how often the team reviews the budget while in this stage
    freeze: bool  # whether changes are frozen (the freeze alert fires)


def _stage(name: str, min_percent: str | None, action: str, review: str, freeze: bool) -> BudgetStage:
    minimum = None if min_percent is None else Decimal(min_percent) / 100
    return BudgetStage(name, minimum, action, parse_duration(review), freeze)


DEFAULT_STAGES: tuple[BudgetStage, ...] = (
    _stage("healthy", "50", "normal operations", "1w", False),
    _stage("warning", "30", "extra review for risky changes", "1d", False),
    _stage("critical", "10", "partial freeze: critical fixes only", "1d", True),
    _stage("emergency", None, "full freeze: exceptions need approval", "6h", True),
)


def stage_index(stages: tuple[BudgetStage, ...], remaining: Decimal) -> int:
    """Index of the stage that applies at `remaining` (a fraction of the budget)."""
    for index, stage in enumerate(stages):
        if stage.min_remaining is None or remaining > stage.min_remaining:
            return index
    return len(stages) - 1


def freezing(stages: tuple[BudgetStage, ...]) -> tuple[int, ...]:
    return tuple(index for index, stage in enumerate(stages) if stage.freeze)
