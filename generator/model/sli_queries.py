"""PromQL for an SLI's bad and total events over one (short) window.

Every SLI kind is reduced to two per-second series, errors and total, read
from raw data only over the shortest window; longer windows are derived from
these recorded series (see targets.rules). It lives in the model because the
synthetic inputs (`model.synthetic`) must feed exactly what these queries read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import promql_parser

from generator.model.slo import SLI, BoolGaugeSLI, EventsSLI, LatencySLI, RawSLI
from generator.spec.promql import substitute_window
from generator.units.durations import Duration
from generator.units.numbers import format_number


@dataclass(frozen=True)
class SLIQueries:
    errors: str  # bad events per second over the window (never absent when total is present)
    total: str | None  # all events per second; None: one event per recorded errors sample (raw ratios)
    good: str | None = None  # good events, where the SLI has them (dashboards, runbooks)
    bad: str | None = None  # bad events as the spec reads them, where it has them (errors is `bad or 0 * total`)
    traffic_weighted: bool = True  # False for raw ratios: long windows average over time


def le_matcher(threshold: Duration) -> str:
    """`le` matcher for a bucket bound that works on Prometheus 2.x and 3.x.

    Prometheus 3 normalizes `le="1"` to `le="1.0"`; 2.x keeps what the
    exporter wrote. A regex accepts both spellings of integral bounds.
    """
    value = format_number(Decimal(threshold.millis) / 1000)
    if "." in value:
        return 'le="' + value + '"'
    return f'le=~"{value}(\\\\.0)?"'


def by_clause(grouping: tuple[str, ...]) -> str:
    """` by (route, region)` for a grouped SLO (docs/grouping.md), "" otherwise."""
    return f" by ({', '.join(grouping)})" if grouping else ""


@lru_cache(maxsize=1 << 14)
def summed(query: str, grouping: tuple[str, ...] = ()) -> str:
    """`sum by (grouping) (query)` unless the query already is that sum (`sum(...)` when ungrouped)."""
    root: Any  # the parser's node classes
    try:
        root = promql_parser.parse(query)
    except ValueError:
        root = None
    if isinstance(root, promql_parser.AggregateExpr) and str(root.op) == "sum":
        modifier = root.modifier
        if modifier is None and not grouping:
            return query
        if modifier is not None and str(modifier.type).endswith("By") and set(modifier.labels) == set(grouping):
            return query
    return f"sum{by_clause(grouping)}({query})"


def _matchers(*parts: str) -> str:
    return "{" + ",".join(part for part in parts if part) + "}"


def queries_for(sli: SLI, window: Duration, grouping: tuple[str, ...] = ()) -> SLIQueries:
    """The SLI's errors and total over `window`: one series, or one per group (`sum by (grouping)`)."""
    w, by = window.text, by_clause(grouping)
    if isinstance(sli, EventsSLI):
        total = summed(substitute_window(sli.total, w), grouping)
        if sli.errors is not None:
            errors = summed(substitute_window(sli.errors, w), grouping)
            return SLIQueries(errors=bad_or_zero(errors, total), total=total, bad=errors)
        good = summed(substitute_window(sli.good or "", w), grouping)
        return SLIQueries(errors=bad_from_good(good, total, total), total=total, good=good)
    if isinstance(sli, LatencySLI):
        total = f"sum{by}(rate({sli.histogram}_count{_matchers(sli.selector)}[{w}]))"
        good = f"sum{by}(rate({sli.histogram}_bucket{_matchers(sli.selector, le_matcher(sli.threshold))}[{w}]))"
        return SLIQueries(errors=bad_from_good(good, total, total), total=total, good=good)
    if isinstance(sli, BoolGaugeSLI):
        # Each sample is one event; counts per window rather than per second.
        total = f"sum{by}(count_over_time({sli.metric}[{w}]))"
        good = f"sum{by}(sum_over_time({sli.metric}[{w}]))"
        return SLIQueries(errors=bad_from_good(good, total, total), total=total, good=good)
    assert isinstance(sli, RawSLI)
    # A ratio cannot be split: record it as errors with a total of 1 per
    # evaluation, so long windows become its time average. `>= 0` drops NaN.
    ratio = f"(({substitute_window(sli.error_ratio, w)}) >= 0)"
    return SLIQueries(errors=f"avg{by}({ratio})", total=None, traffic_weighted=False)


_COUNTER_FUNCTION = re.compile(r"\b(increase|rate|irate)\s*\(")


def events_per_sample(sli: SLI, window: Duration) -> Decimal | None:
    """Events that an errors sample of 1 stands for over `window`: its seconds for per-second rates.

    `increase()` and bool gauges' `count_over_time` already count per window
    (1). None for raw ratios: they have no event count (the low-traffic guard
    does not apply).
    """
    if isinstance(sli, RawSLI):
        return None
    seconds = Decimal(window.millis) / 1000
    if isinstance(sli, BoolGaugeSLI):
        return Decimal(1)
    if isinstance(sli, EventsSLI):
        found = _COUNTER_FUNCTION.search(sli.total)
        if found is not None and found.group(1) == "increase":
            return Decimal(1)
    return seconds


def bad_or_zero(bad: str, presence: str) -> str:
    """Bad events, 0 where `presence` (the total) has traffic but no bad event was counted."""
    return f"{bad} or (0 * {presence})"


def bad_from_good(good: str, total: str, presence: str) -> str:
    """Total minus good events; `presence` (any spelling of the total) stands in for good where none was counted.

    The recorded rules pass the plain `rate` of the total as `presence`: it
    is present exactly where the exact read is (model.counter_reads) at a
    fraction of its cost, and it reads raw data only, so what the errors rule
    records never depends on another rule's output or on when it was written.
    """
    return f"clamp_min({total} - ({good} or (0 * {presence})), 0)"
