"""Which alert of one SLO is more severe: the single order inhibition is derived from.

- a page is more severe than a ticket;
- within a class, the faster tier (shorter long window) is more severe;
- `SLOSLIMissing` is the least severe alert of its class, and its class is the
  class of the SLO's most severe tier: an SLO that pages, pages when blind.

Only a strictly more severe alert of the same SLO may mute another; alerts of
equal rank never mute each other.
"""

from __future__ import annotations

from generator.model.slo import SLO, Tier

NOTIFY_ORDER = ("ticket", "page")  # least to most severe
MISSING_SLI_TIER = "missing-sli"  # the `slo_tier` of SLOSLIMissing: no tier may take it
Rank = tuple[int, int, int]


def tier_rank(tier: Tier) -> Rank:
    return (NOTIFY_ORDER.index(tier.notify), 1, -tier.long_window.millis)


def missing_sli_class(slo: SLO) -> tuple[str, str]:
    """(notify, severity) of the SLO's missing-SLI alert: those of its most severe tier, else a ticket."""
    top = max(slo.tiers, key=tier_rank, default=None)
    return (top.notify, top.severity) if top is not None else ("ticket", "warning")


def missing_sli_rank(slo: SLO) -> Rank:
    return (NOTIFY_ORDER.index(missing_sli_class(slo)[0]), 0, 0)


def budget_freeze_rank() -> Rank:
    """`SLOErrorBudgetFreeze` is a policy notice: a ticket below every other alert of its SLO."""
    return (NOTIFY_ORDER.index("ticket"), -1, 0)
