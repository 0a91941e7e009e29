"""Counter reads that tile exactly: `rate(x[5m])` becomes the counter's own delta over the tile.

Why: the ladder (model.windows) sums lookups of the recorded shortest-window
rate, so each window is only as exact as that tile. Prometheus evaluates a
rule group at its own offset from the scrapes; there `rate(x[5m])` sees the
5 samples of (t - 5m, t], which span 4 minutes, and extrapolates the fifth,
so a burst in the uncounted minute is under- or over-weighted (the live
benchmark measured 1h windows off by up to 12.5%). The instant lookups `x`
and `x offset 5m` each return the newest sample at or before their instant,
so consecutive tiles share their boundary sample and a window's tiles add up
to exactly `x(t) - x(t - w)`, on any alignment, on Prometheus 2.x and 3.x,
across scrape gaps shorter than the lookback.

A counter reset breaks the subtraction, and a series younger than the tile
has no older sample: for those series (`resets(...) > 0` over the tile and
the lookback, or no sample at `offset`) the tile falls back to Prometheus'
own `increase`, which is what `rate` would have given. On the sample grid
(promtool's tests, the backfilled history) both spellings give the same
value, so the replay model and the generated tests are unchanged.

Only `rate(selector[window])` and `increase(selector[window])` of a plain
selector are rewritten; a query this module cannot rewrite with certainty
(native histograms, subqueries, `offset`/`@` inside the call, an unusual
spelling the pattern and the parser disagree about) is left as it is.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Any

import promql_parser

from generator.spec.promql import parse_error, vector_selectors
from generator.units.durations import Duration, format_duration
from generator.units.numbers import format_number

LOOKBACK_MS = 300_000  # Prometheus' default lookback delta: how far back `x offset w` may find its sample

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_BRACES = rf"\{{(?:[^{{}}\"'`]|{_QUOTED})*\}}"
_SELECTOR = rf"(?:{_NAME}\s*(?:{_BRACES})?|{_BRACES})"


def _call_pattern(window: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![a-zA-Z0-9_:])(?P<fn>rate|increase)\s*\(\s*(?P<sel>{_SELECTOR})\s*\[\s*{re.escape(window)}\s*\]\s*\)"
    )


def exact_counter_reads(query: str, window: Duration) -> str:
    """`query` with each `rate`/`increase` of a plain selector over `window` read as an exact delta."""
    return _rewrite(query, window.millis, window.text)


@lru_cache(maxsize=1 << 14)
def _rewrite(query: str, window_ms: int, window_text: str) -> str:
    if "histogram_" in query:  # native histograms: their subtraction is not portable to Prometheus 2.x
        return query
    matches = list(_call_pattern(window_text).finditer(query))
    if not matches or len(matches) != _counter_calls(query, window_ms):
        return query
    pieces, end = [], 0
    for match in matches:
        pieces += [query[end : match.start()], _exact(match["fn"], match["sel"].strip(), window_ms, window_text)]
        end = match.end()
    rewritten = "".join([*pieces, query[end:]])
    if parse_error(rewritten) is not None or _selectors(rewritten) != _selectors(query):
        return query  # only ever repeats the query's own selectors; anything else is a misread
    return rewritten


def _selectors(query: str) -> set[tuple[str, tuple[tuple[str, str, str], ...]]]:
    return {(name, tuple(matchers)) for name, matchers in vector_selectors(query)}


def _exact(function: str, selector: str, window_ms: int, window_text: str) -> str:
    """The delta of `selector` over the tile; `increase` where it reset or is younger than the tile."""
    resets_range = format_duration(window_ms + LOOKBACK_MS + 60_000)  # the tile, the lookback and one scrape
    delta = (
        f"({selector} - {selector} offset {window_text} unless resets({selector}[{resets_range}]) > 0)"
        f" or increase({selector}[{window_text}])"
    )
    if function == "increase":
        return f"({delta})"
    return f"(({delta}) / {format_number(window_ms / 1000)})"


def _counter_calls(query: str, window_ms: int) -> int:
    """How many `rate`/`increase` calls of a plain selector over the window the parser sees; -1 if it fails."""
    try:
        stack: list[Any] = [promql_parser.parse(query)]
    except (ValueError, TypeError):
        return -1
    window, found = timedelta(milliseconds=window_ms), 0
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.Call) and node.func.name in ("rate", "increase"):
            argument = node.args[0]
            if isinstance(argument, promql_parser.MatrixSelector) and not _one_metric(argument.vector_selector):
                return -1  # `x - x offset w` of several metric names would match many to many
            if (
                isinstance(argument, promql_parser.MatrixSelector)
                and argument.range == window
                and argument.vector_selector.offset is None
                and argument.vector_selector.at is None
            ):
                found += 1
        for attribute in ("expr", "lhs", "rhs", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, str | int | float):
                stack.append(child)
        stack.extend(getattr(node, "args", None) or ())
    return found


def _one_metric(selector: Any) -> bool:
    """Whether the selector names one metric (a name, or `__name__="x"`), not a regex over names."""
    if selector.name:
        return True
    return any(
        m.name == "__name__" and str(m.op).endswith("Equal") and not str(m.op).endswith("NotEqual")
        for m in selector.matchers.matchers
    )
