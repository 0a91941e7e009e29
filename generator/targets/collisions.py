"""Spec names that would collide in rendered output: each one an error at its spec node.

Two services whose dashboards land in one file or one Grafana uid would
overwrite each other, and two tiers whose names give one alert name (`page-1h`,
`page1h`) would be one alerting rule name for two rules. Lives with the
renderers because the names come from them; the pipeline runs it inside
`model.validate` so these errors are reported with all the others.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.model.policy import TierPolicy
from generator.model.slo import burn_alert_name
from generator.spec.errors import SpecError
from generator.spec.load import LoadedDocument, SpecSet
from generator.spec.schema import PolicyDoc, ServiceDoc
from generator.targets.labels import MISSING_SLI_TIER
from generator.targets.links import dashboard_path, dashboard_uid

RESERVED_TIER_NAMES = {MISSING_SLI_TIER: "the alert sloforge adds when an SLI has no data"}


def output_collisions(specs: SpecSet, tiers: tuple[TierPolicy, ...]) -> list[SpecError]:
    return _dashboard_collisions(specs) + _tier_collisions(specs, tiers)


def _dashboard_collisions(specs: SpecSet) -> list[SpecError]:
    """`links` keeps service dashboards off the overview's file and uid; they can still meet each other."""
    services = specs.of_kind(ServiceDoc)
    return _first_wins(services, "dashboard file", dashboard_path) + _first_wins(
        services, "Grafana dashboard uid", dashboard_uid
    )


def _first_wins(docs: list[LoadedDocument], what: str, name_of: Callable[[str], str]) -> list[SpecError]:
    errors = []
    owners: dict[str, LoadedDocument] = {}
    for doc in docs:
        service: str = doc.model.service
        name = name_of(service)
        first = owners.setdefault(name, doc)
        other: str = first.model.service
        if other != service:  # the same name twice is already a duplicate-service error
            where = f"{first.source.file}:{first.source.locate(('service',))[0]}"
            errors.append(
                doc.source.error(
                    ("service",),
                    f"service {service!r} would write the same {what} ({name}) as service {other!r} in {where}; "
                    "rename one of them",
                )
            )
    return errors


def _tier_collisions(specs: SpecSet, tiers: tuple[TierPolicy, ...]) -> list[SpecError]:
    policies = specs.of_kind(PolicyDoc)
    if not policies:
        return []
    source = policies[0].source
    declared = policies[0].model.tiers
    errors = []
    for name in declared:
        if name in RESERVED_TIER_NAMES:
            errors.append(
                source.error(
                    ("tiers", name), f"tier name {name!r} is reserved for {RESERVED_TIER_NAMES[name]}", at_key=True
                )
            )
    by_alert: dict[str, str] = {}
    for tier in tiers:
        first = by_alert.setdefault(burn_alert_name(tier.name), tier.name)
        if first != tier.name and tier.name in declared:
            errors.append(
                source.error(
                    ("tiers", tier.name),
                    f"tiers {first!r} and {tier.name!r} both give the alert name {burn_alert_name(tier.name)}; "
                    "rename one (dashes separate words: page-1h and page1h are the same alert)",
                    at_key=True,
                )
            )
    return errors
