"""The rule groups every deployment format packages: built once per render."""

from __future__ import annotations

from generator.model.slo import Model
from generator.targets.rule_types import RuleGroup
from generator.targets.rules import slo_rule_group

ServiceGroups = dict[str, list[RuleGroup]]  # service name -> its rule groups (one per SLO), read-only


def service_groups(model: Model) -> ServiceGroups:
    """The same groups as prometheus/rules/<service>.yaml."""
    return {service.name: [slo_rule_group(slo, model.settings) for slo in service.slos] for service in model.services}
