"""Routing test cases: every generated alert with the receivers it must reach.

Expectations come from team ownership (who should hear about it), not from
walking the rendered route tree, so amtool checks the tree against intent.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.slo import Model
from generator.targets import labels as L
from generator.targets.alertmanager.alerts import generated_alerts
from generator.targets.alertmanager.names import receiver_name


@dataclass(frozen=True)
class RoutingCase:
    name: str
    labels: tuple[tuple[str, str], ...]
    receivers: tuple[str, ...]  # in routing-tree order


def expected_receivers(model: Model, team_name: str, notify: str, default: str) -> tuple[str, ...]:
    """The team's info receiver (a copy of everything) first, then its page/ticket receiver."""
    team = model.team(team_name)
    if team is None:
        return (default,)
    found = tuple(receiver_name(team.name, cls) for cls in ("info", notify) if team.receivers_for(cls))
    return found or (default,)


def routing_cases(model: Model, default: str) -> list[RoutingCase]:
    cases = []
    for alert in generated_alerts(model):
        labels = alert.label_map
        expected = expected_receivers(model, labels[L.TEAM], labels[L.NOTIFY], default)
        cases.append(RoutingCase(alert.name, alert.labels, expected))
    return cases


def routing_tests_document(cases: list[RoutingCase], config: str, default: str, mode: str) -> dict:
    return {
        "config": config,
        "mode": mode,
        "default_receiver": default,
        "tests": [{"name": c.name, "labels": dict(c.labels), "receivers": list(c.receivers)} for c in cases],
    }
