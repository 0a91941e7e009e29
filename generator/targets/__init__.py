"""Renderers: pure functions from the Model to its files ({relative path: text}) and warnings (`Rendered`)."""

from __future__ import annotations

from collections.abc import Callable

from generator.model.slo import Model
from generator.targets.alertmanager import render_alertmanager
from generator.targets.budget_tests import render_budget_tests
from generator.targets.dashboards import render_dashboards
from generator.targets.deploy import render_deploy
from generator.targets.grafana_provisioning import render_grafana_provisioning
from generator.targets.grouped_tests import render_grouped_tests
from generator.targets.rendered import Rendered, combined
from generator.targets.rule_tests import render_rule_tests
from generator.targets.rules import render_rules
from generator.targets.runbooks import render_runbooks

Renderer = Callable[[Model], Rendered]

# Order does not matter for the output; it is the order the README lists them.
RENDERERS: tuple[Renderer, ...] = (
    render_rules,
    render_rule_tests,
    render_grouped_tests,  # grouped SLOs only: several groups at once (docs/grouping.md)
    render_budget_tests,
    render_alertmanager,
    render_runbooks,
    render_dashboards,
    render_grafana_provisioning,
    render_deploy,  # operator/, mimir/, cortex/, thanos/ when asked for; nothing by default
)


# The renderers whose warnings say what could not be proven (explain and simulate report them without a render).
TEST_RENDERERS: tuple[Renderer, ...] = (render_rule_tests, render_grouped_tests)


def render_model(model: Model) -> Rendered:
    """Every renderer's files and warnings."""
    return render_with(model, RENDERERS)


def render_all(model: Model) -> dict[str, str]:
    """Every renderer's files, for callers that report no warnings (tests, the demo)."""
    return render_model(model).files


def render_with(model: Model, renderers: tuple[Renderer, ...]) -> Rendered:
    return combined(renderer(model) for renderer in renderers)
