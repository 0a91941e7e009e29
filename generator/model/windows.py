"""How every SLI window is built from a few recorded series: the tile ladder.

With evaluations every `interval`, the samples of the shortest-window rate
at t, t - 5m, ..., t - 25m tile (t - 30m, t] exactly. So a window is the sum
of a handful of offset lookups of a shorter recorded series (a rung), up a
ladder where each rung is a few tiles of the one below: 30m = 6 x 5m,
1h = 2 x 30m, 2h = 2 x 1h, 6h = 3 x 2h, 1d = 4 x 6h, 3d = 3 x 1d, and
30d = 10 x 3d, 28d = 28 x 1d, 90d = 30 x 3d. Each window then reads a few
samples per evaluation instead of every sample in it, and its newest tile
ends at t, so no minute weighs less than another (the smear of
`sum_over_time(rate5m[w])`). Every lookup is a selector with a fixed cost in
Prometheus, so the ladder is dense: about 30 lookups per SLO for the
default windows, not one per sample.

One plan, used by the rule renderer and the replay model alike, so the
generated rules and their predicted values cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.slo import SLO
from generator.units.durations import Duration

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
LADDER_RUNGS_MS = (30 * 60_000, HOUR_MS, 2 * HOUR_MS, 6 * HOUR_MS, DAY_MS, 3 * DAY_MS)  # above the shortest window
MAX_TILES = 100  # beyond this many lookups a window falls back to sum_over_time of the shortest rate
HOLD_MS = 15 * 60_000  # alerts read the shortest window's last value this far back: a scrape gap is not a reset
LOOKBACK_MS = 300_000  # Prometheus' default lookback delta: how far back an instant lookup reaches


@dataclass(frozen=True)
class Tiling:
    """A window as the sum of `count` lookups of the rung `rung_ms` at offsets 0, rung, 2 x rung, ..."""

    rung_ms: int
    count: int


def ladder(raw_ms: int) -> tuple[int, ...]:
    """The rungs that can be recorded: the shortest window, then each standard rung that tiles the one below.

    Tiles are exact when the shortest window is a whole number of evaluation
    intervals (lookups then land on evaluations). Otherwise a lookup finds the
    evaluation before, so tiles overlap or leave gaps of under one interval;
    the plan does not depend on the interval, so the replay model (which
    follows lookups) still predicts exactly what Prometheus records.
    """
    rungs = [raw_ms]
    for rung in LADDER_RUNGS_MS:  # each rung a few tiles of the one below (a 10s window gets no ladder)
        if rung > rungs[-1] and rung % rungs[-1] == 0 and rung // rungs[-1] <= MAX_TILES:
            rungs.append(rung)
    return tuple(rungs)


def tiling(window_ms: int, raw_ms: int) -> Tiling | None:
    """How `window_ms` is summed from the longest rung below it that divides it; None: `sum_over_time` fallback."""
    if window_ms <= raw_ms:
        return None
    fits = [
        rung for rung in ladder(raw_ms) if rung < window_ms and window_ms % rung == 0 and window_ms // rung <= MAX_TILES
    ]
    return Tiling(max(fits), window_ms // max(fits)) if fits else None


def rungs_needed(windows_ms: list[int], raw_ms: int) -> list[int]:
    """Rungs above the shortest window that some window is summed from (and the rungs those need), ascending."""
    needed: set[int] = set()
    pending = list(windows_ms)
    while pending:
        plan = tiling(pending.pop(), raw_ms)
        if plan is not None and plan.rung_ms != raw_ms and plan.rung_ms not in needed:
            needed.add(plan.rung_ms)
            pending.append(plan.rung_ms)
    return sorted(needed)


def windows_of(slo: SLO) -> list[Duration]:
    """Every window an SLO needs, shortest first, one spelling per length."""
    by_length: dict[int, Duration] = {slo.window.millis: slo.window}
    for tier in slo.tiers:
        for window in (tier.short_window, tier.long_window):
            by_length.setdefault(window.millis, window)
    if len(by_length) == 1:  # no tiers enabled: still record a short window
        by_length.setdefault(300_000, Duration(300_000, "5m"))
    return [by_length[key] for key in sorted(by_length)]
