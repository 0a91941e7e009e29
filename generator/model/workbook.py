"""The SRE Workbook's continuous burn-rate formulas: detection, reset and exhaustion times of a tier.

`generator.model.burn` replays the rules evaluation by evaluation; these are
the closed forms that `explain`, runbooks and reports quote beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator.model.slo import SLO, Tier


def detection_seconds(tier: Tier, error_budget: Decimal, error_ratio: Decimal) -> float:
    """Seconds from a step to `error_ratio` until the long window crosses the threshold.

    Workbook: (1 - SLO) / error_ratio * long_window * factor. The short window
    fills faster than the long one, so the long window decides. Infinite when
    the ratio never exceeds the threshold.
    """
    if error_ratio <= tier.threshold:
        return float("inf")
    return float(error_budget / error_ratio * tier.factor) * tier.long_window.seconds


def fires_at_all(tier: Tier) -> bool:
    """A tier whose threshold is >= 100% errors can never fire."""
    return tier.threshold < 1


def budget_exhaustion_seconds(slo: SLO, tier: Tier) -> float:
    """Time to burn the whole budget when burning exactly at the tier's threshold."""
    return slo.window.seconds / float(tier.factor)


def reset_seconds(tier: Tier) -> float:
    """After errors stop, the short window empties first and ends the alert."""
    return tier.short_window.seconds


@dataclass(frozen=True)
class TierFacts:
    tier: Tier
    factor: Decimal
    threshold: Decimal
    budget_consumed: Decimal  # share of the period budget burnt when the alert fires
    detection_full_outage_s: float
    detection_double_threshold_s: float
    reset_s: float
    exhaustion_s: float
    can_fire: bool


def tier_facts(slo: SLO, tier: Tier) -> TierFacts:
    budget = slo.error_budget
    return TierFacts(
        tier=tier,
        factor=tier.factor,
        threshold=tier.threshold,
        budget_consumed=tier.budget_share,
        detection_full_outage_s=detection_seconds(tier, budget, Decimal(1)),
        detection_double_threshold_s=detection_seconds(tier, budget, min(Decimal(1), tier.threshold * 2)),
        reset_s=reset_seconds(tier),
        exhaustion_s=budget_exhaustion_seconds(slo, tier),
        can_fire=fires_at_all(tier),
    )
