"""Renderers: pure functions from the Model to {relative path: text}."""

from __future__ import annotations

from collections.abc import Callable

from generator.model.slo import Model
from generator.targets.alertmanager import render_alertmanager
from generator.targets.budget_tests import render_budget_tests
from generator.targets.dashboards import render_dashboards
from generator.targets.deploy import render_deploy
from generator.targets.grafana_provisioning import render_grafana_provisioning
from generator.targets.grouped_tests import render_grouped_tests
from generator.targets.rule_tests import render_rule_tests
from generator.targets.rules import render_rules
from generator.targets.runbooks import render_runbooks

Renderer = Callable[[Model], dict[str, str]]

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


def render_all(model: Model) -> dict[str, str]:
    return render_with(model, RENDERERS)


def render_with(model: Model, renderers: tuple[Renderer, ...]) -> dict[str, str]:
    tree: dict[str, str] = {}
    for renderer in renderers:
        for path, text in renderer(model).items():
            if path in tree:
                raise ValueError(f"two renderers produce {path}")
            tree[path] = text
    return dict(sorted(tree.items()))
