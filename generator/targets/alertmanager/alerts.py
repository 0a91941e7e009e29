"""The alerts the rule renderer emits, as Alertmanager will receive them.

Taken from the rendered rule groups themselves, so routing, routing tests and
template fixtures can never drift from the labels Prometheus actually sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.slo import SLO, Model
from generator.targets import labels as L
from generator.targets.rule_types import is_alerting
from generator.targets.rules import slo_rule_group


@dataclass(frozen=True)
class GeneratedAlert:
    slo: SLO
    labels: tuple[tuple[str, str], ...]  # full label set, alertname included
    annotations: tuple[tuple[str, str], ...]  # as written in the rule (Prometheus templates unexpanded)
    group: str = ""  # a grouped SLO's group, where a test gives the alert one (docs/grouping.md)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def name(self) -> str:
        return f"{self.slo.key} {self.label_map[L.ALERTNAME]}" + (f" [{self.group}]" if self.group else "")


def generated_alerts(model: Model) -> list[GeneratedAlert]:
    """Every alerting rule of every SLO, in render order."""
    alerts = []
    for slo in model.slos:
        for rule in slo_rule_group(slo, model.settings)["rules"]:
            if not is_alerting(rule):
                continue
            labels = {L.ALERTNAME: rule["alert"], **rule["labels"]}
            annotations = rule["annotations"]
            alerts.append(GeneratedAlert(slo, tuple(labels.items()), tuple(annotations.items())))
    return alerts
