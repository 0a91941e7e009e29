"""Error-budget policy stages as Grafana thresholds (bands) and value mappings."""

from __future__ import annotations

from generator.model.budget_policy import BudgetStage
from generator.targets.dashboards import panels as P

YELLOW = "yellow"


def stage_colors(count: int) -> list[str]:
    """Best stage first: green, then yellow, orange ..., the last stage red."""
    if count == 1:
        return [P.GREEN]
    middle = [YELLOW, P.ORANGE]
    colors = [P.GREEN] + [middle[min(i, len(middle) - 1)] for i in range(count - 2)] + [P.RED]
    return colors


def stage_steps(stages: tuple[BudgetStage, ...]) -> list[P.Step]:
    """Thresholds on budget remaining: each stage's colour from its minimum upwards."""
    colors = stage_colors(len(stages))
    steps = [P.Step(None, colors[-1])]
    for index in range(len(stages) - 2, -1, -1):
        minimum = stages[index].min_remaining
        assert minimum is not None  # only the last stage has none (checked in the spec)
        steps.append(P.Step(float(minimum), colors[index]))
    return steps


def stage_mappings(stages: tuple[BudgetStage, ...]) -> list[object]:
    """`slo:error_budget_stage:index` value -> stage name, in the stage's colour."""
    colors = stage_colors(len(stages))
    return [
        P.value_text(str(index), stage.name + (" (freeze)" if stage.freeze else ""), colors[index])
        for index, stage in enumerate(stages)
    ]
