"""The alert policy: tiers defined by budget share, resolved per SLO.

The SRE Workbook's multi-window multi-burn-rate set is the default. A tier is
defined by the share of the period's error budget it may burn before firing,
so the burn-rate factor follows from the SLO window (14.4 at 30d, 13.44 at 28d).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from generator.model.low_traffic import resolve_min_bad_events
from generator.model.slo import SLI, NotifyClass, Tier
from generator.spec.load import SpecSet
from generator.spec.schema import PolicyDoc, SLOSpec
from generator.units.durations import Duration, parse_duration


@dataclass(frozen=True)
class TierPolicy:
    """A tier before it meets an SLO: no factor yet."""

    name: str
    notify: NotifyClass
    severity: str
    long_window: Duration
    short_window: Duration
    budget_share: Decimal
    for_: Duration
    enabled: bool = True
    labels: tuple[tuple[str, str], ...] = ()  # extra alert labels (per SLO, from `alerting:`)
    min_bad_events: int | None = None  # None: the default of model.low_traffic


NO_FOR = Duration(0, "0s")  # fire on the first evaluation where both windows burn


def _tier(name: str, notify: NotifyClass, severity: str, long: str, short: str, share: str) -> TierPolicy:
    return TierPolicy(name, notify, severity, parse_duration(long), parse_duration(short), Decimal(share), NO_FOR)


# No `for` by default: the short window already filters blips (a window
# must hold errors for its own length before it ends an alert), and windows
# tiled without smear reach their threshold at the Workbook's detection time;
# any `for` would only add to it (docs/windows.md has the measured table).
DEFAULT_TIERS: tuple[TierPolicy, ...] = (
    _tier("page-fast", "page", "critical", "1h", "5m", "0.02"),
    _tier("page-slow", "page", "critical", "6h", "30m", "0.05"),
    _tier("ticket-fast", "ticket", "warning", "1d", "2h", "0.10"),
    _tier("ticket-slow", "ticket", "warning", "3d", "6h", "0.10"),
)

TIER_FIELDS = (
    "notify",
    "severity",
    "long_window",
    "short_window",
    "budget_share",
    "for_",
    "enabled",
    "min_bad_events",
)


def override_tier(tier: TierPolicy, changes: dict[str, Any]) -> TierPolicy:
    """Apply the fields a Policy document or an SLO's `alerting:` block sets."""
    return replace(tier, **{key: value for key, value in changes.items() if value is not None})


def burn_factor(budget_share: Decimal, slo_window: Duration, long_window: Duration) -> Decimal:
    """factor = budget_share * slo_window / long_window (SRE Workbook, ch. 5)."""
    return budget_share * Decimal(slo_window.millis) / Decimal(long_window.millis)


def resolve_tier(
    policy: TierPolicy,
    slo_window: Duration,
    error_budget: Decimal,
    expected_rate: Decimal | None = None,
    sli: SLI | None = None,
) -> Tier:
    factor = burn_factor(policy.budget_share, slo_window, policy.long_window)
    threshold = factor * error_budget
    return Tier(
        name=policy.name,
        notify=policy.notify,
        severity=policy.severity,
        long_window=policy.long_window,
        short_window=policy.short_window,
        budget_share=policy.budget_share,
        for_=policy.for_,
        labels=policy.labels,
        factor=factor,
        threshold=threshold,
        min_bad_events=resolve_min_bad_events(
            policy.min_bad_events, policy.notify, threshold, policy.long_window, expected_rate, sli
        ),
    )


def tier_changes(spec_fields: dict[str, Any]) -> dict[str, Any]:
    """Spec TierSpec fields (strings) -> TierPolicy field values (Any: each key has its field's type)."""
    changes: dict[str, Any] = {}
    for key, value in spec_fields.items():
        if value is None:
            continue
        if key in ("long_window", "short_window", "for_"):
            changes[key] = parse_duration(str(value))
        elif key == "labels":
            changes[key] = tuple(sorted(dict(value).items()))
        else:
            changes[key] = value
    return changes


def apply_overrides(
    tiers: tuple[TierPolicy, ...], overrides: dict[str, dict[str, Any] | None], *, allow_new: bool
) -> tuple[TierPolicy, ...]:
    """Override tiers by name, or every tier of a notify class (`page`, `ticket`).

    `None` for a name disables it. New names are added only where `allow_new`
    (the global Policy); the caller has checked that new tiers are complete.
    """
    result = list(tiers)
    for name, fields in overrides.items():
        changes: dict[str, Any] = {"enabled": False} if fields is None else tier_changes(fields)
        matched = [i for i, tier in enumerate(result) if tier.name == name or tier.notify == name]
        if matched:
            for index in matched:
                result[index] = override_tier(result[index], changes)
        elif allow_new:
            result.append(TierPolicy(name=name, **changes))
    return tuple(result)


def global_tiers(specs: SpecSet) -> tuple[TierPolicy, ...]:
    """Default tiers with the Policy document's overrides applied (already validated)."""
    tiers = DEFAULT_TIERS
    for doc in specs.of_kind(PolicyDoc):
        overrides = {
            name: None if spec is None else spec.model_dump(exclude_none=True) for name, spec in doc.model.tiers.items()
        }
        tiers = apply_overrides(tiers, overrides, allow_new=True)
    return tiers


def slo_tiers(base: tuple[TierPolicy, ...], slo: SLOSpec) -> tuple[TierPolicy, ...]:
    """The SLO's `alerting:` block applied to the global tiers."""
    overrides = {
        name: None if spec is None else spec.model_dump(exclude_none=True) for name, spec in slo.alerting.items()
    }
    return apply_overrides(base, overrides, allow_new=False)
