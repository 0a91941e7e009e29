"""Inhibition test cases: which alerts fire together, which must be delivered, which muted and by whom.

Expectations come from the severity order (`model.severity`), not from the
rendered inhibit rules, so a live Alertmanager checks the rules against intent
(tests/test_alertmanager_e2e.py): a page is never muted by a ticket or by
SLOSLIMissing; an alert is muted only by a more severe alert of its own SLO,
and of a grouped SLO only by one of its own group (docs/grouping.md): those
alerts fire for two groups here, and `SLOSLIMissing`, which has no group,
mutes neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from generator.model.slo import Model
from generator.targets import labels as L
from generator.targets.alertmanager.alerts import GeneratedAlert, generated_alerts
from generator.targets.alertmanager.inhibit import slo_ranks

# (name, which alerts fire): together they show every pair of the order at work.
SCENARIOS: tuple[tuple[str, Callable[[dict[str, str]], bool]], ...] = (
    ("every alert fires", lambda labels: True),
    (
        "every alert but the burn-rate pages fires",
        lambda labels: labels[L.NOTIFY] != "page" or labels[L.ALERTNAME] == L.MISSING_SLI_ALERT,
    ),
    ("only tickets fire", lambda labels: labels[L.NOTIFY] != "page"),
)


GROUPS = ("a", "b")  # the values every grouping label takes in these tests


def inhibition_document(model: Model, config: str, mode: str) -> dict:
    alerts = [grouped for alert in generated_alerts(model) for grouped in _per_group(alert)]
    return {
        "config": config,
        "mode": mode,
        "alerts": {alert.name: dict(alert.labels) for alert in alerts},
        "tests": [_scenario(name, [a for a in alerts if fires(a.label_map)]) for name, fires in SCENARIOS],
    }


def _per_group(alert: GeneratedAlert) -> list[GeneratedAlert]:
    """A grouped SLO's alert once per test group; `SLOSLIMissing` (the whole SLO's, without group labels) once."""
    if not alert.slo.grouping or alert.label_map[L.ALERTNAME] == L.MISSING_SLI_ALERT:
        return [alert]
    return [
        replace(alert, labels=alert.labels + tuple((label, value) for label in alert.slo.grouping), group=value)
        for value in GROUPS
    ]


def _same_group(one: GeneratedAlert, other: GeneratedAlert) -> bool:
    """Alertmanager's `equal` on the grouping labels: an absent label equals only an absent one."""
    return all(one.label_map.get(label, "") == other.label_map.get(label, "") for label in one.slo.grouping)


def _scenario(name: str, firing: list[GeneratedAlert]) -> dict:
    delivered, inhibited = [], {}
    for alert in firing:
        rank = slo_ranks(alert.slo)
        mine = rank[alert.label_map[L.TIER]]
        sources = [
            other.name
            for other in firing
            if other.slo.key == alert.slo.key and rank[other.label_map[L.TIER]] > mine and _same_group(alert, other)
        ]
        if sources:
            inhibited[alert.name] = sources
        else:
            delivered.append(alert.name)
    return {
        "name": name,
        "fire": [alert.name for alert in firing],
        "delivered": delivered,
        "inhibited": inhibited,  # alert -> the alerts allowed to mute it (one of them must)
    }
