"""The low-traffic guard: a tier fires only once its long window holds enough bad events.

Burn-rate ratios explode when the denominator is tiny: at night a handful of
failed requests is a 2% error ratio and pages. The guard is a second
condition on the long window, `bad events >= min_bad_events`, so a tier needs
both a high ratio and a real count of failures. At the expected traffic it
never delays detection: when the long window first crosses the threshold from
clean traffic, it already holds the tier's whole budget share of bad events
(threshold x rate x long window), far more than the guard asks for.

Bad events are counted where the SLI has them: requests for events and latency
SLIs, samples for bool gauges (a probe's failed samples). A raw ratio has no
event count, so the guard does not apply to it (min_bad_events is 0). A bool
gauge has no guard by default: a probe samples at a steady rate, day and
night, so it has no quiet hours (set min_bad_events to require N failed
samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from generator.model.slo import SLI, SLO, NotifyClass, Tier
from generator.units.durations import Duration

FLOOR_BY_NOTIFY: dict[str, int] = {"page": 5, "ticket": 3}  # without expected_rate: a handful of errors never pages
SHARE_OF_TIER_BUDGET = Decimal("0.01")  # with expected_rate: 1% of the bad events the tier lets burn


def counts_events(sli: SLI) -> bool:
    """Whether the SLI has bad events to count (raw ratios do not)."""
    return sli.kind != "raw"


def tier_budget_events(threshold: Decimal, long_window: Duration, rate: Decimal) -> Decimal:
    """Bad events in the long window when it burns exactly at the threshold at `rate` events/s.

    This is the tier's share of the SLO's error budget in events:
    budget_share x error_budget x rate x slo_window = threshold x rate x long_window.
    """
    return threshold * rate * Decimal(long_window.millis) / 1000


def default_min_bad_events(
    notify: NotifyClass, threshold: Decimal, long_window: Duration, expected_rate: Decimal | None
) -> int:
    """The floor for the notify class, raised to 1% of the tier's budget in events when the rate is known."""
    floor = FLOOR_BY_NOTIFY.get(notify, FLOOR_BY_NOTIFY["page"])
    if expected_rate is None:
        return floor
    share = tier_budget_events(threshold, long_window, expected_rate) * SHARE_OF_TIER_BUDGET
    return max(floor, math.ceil(share))


def resolve_min_bad_events(
    configured: int | None,
    notify: NotifyClass,
    threshold: Decimal,
    long_window: Duration,
    expected_rate: Decimal | None,
    sli: SLI | None,
) -> int:
    """The tier's guard: the configured value, else the default; 0 (off) for SLIs without event counts."""
    if sli is not None and not counts_events(sli):
        return 0
    if configured is not None:
        return configured
    if sli is not None and sli.kind == "bool_gauge":
        return 0  # a probe's samples come at a steady rate, night or day: no quiet hours to guard against
    return default_min_bad_events(notify, threshold, long_window, expected_rate)


@dataclass(frozen=True)
class SmallestPage:
    """The smallest incident that can fire a tier at the SLO's expected traffic."""

    bad_events: Decimal  # bad events the long window must hold: max(tier budget, guard)
    guard_decides: bool  # the guard, not the ratio, sets the size
    outage_seconds: float  # a full outage from clean traffic fires after this long (Workbook, plus the guard)
    blind: bool  # even a full outage lasting the long window cannot fire it


def smallest_page(slo: SLO, tier: Tier) -> SmallestPage | None:
    """None without expected_rate (nothing to size against)."""
    rate = slo.expected_rate
    if rate is None:
        return None
    budget_events = tier_budget_events(tier.threshold, tier.long_window, rate)
    needed = max(budget_events, Decimal(tier.min_bad_events))
    long_s = tier.long_window.seconds
    outage = max(float(tier.threshold) * long_s, tier.min_bad_events / float(rate))
    blind = tier.threshold >= 1 or rate * Decimal(tier.long_window.millis) / 1000 < tier.min_bad_events
    return SmallestPage(needed, Decimal(tier.min_bad_events) > budget_events, outage, blind)
