"""Counter reads that tile exactly: `rate(x[5m])` becomes the counter's rate between its samples at the tile's ends.

Why: the ladder (model.windows) sums lookups of the recorded shortest-window
rate, so each window is only as exact as that tile. Prometheus evaluates a
rule group at its own offset from the scrapes; there `rate(x[5m])` sees the
5 samples of (t - 5m, t], which span 4 minutes, and extrapolates the fifth,
so a burst in the uncounted minute is under- or over-weighted (the live
benchmark measured 1h windows off by up to 12.5%). The instant lookups `x`
and `x offset 5m` each return the newest sample at or before their instant,
so consecutive tiles share their boundary sample; divided by the time
between those two samples (which is the tile when the scrape interval
divides it), a window's tiles add up to exactly `x(t) - x(t - w)` on any
alignment, on Prometheus 2.x and 3.x.

A counter reset breaks the subtraction, and a series younger than the tile
has no older sample: for those series (`resets(...) > 0` over the tile and
the lookback, a negative delta, or no sample at `offset`) the tile falls back
to Prometheus' own `rate` (or `increase`), which is what it was before. On the
sample grid with no missing sample (promtool's tests, the backfilled
history) both spellings give the same value, so the replay model and the
generated tests are unchanged.

Only `rate(selector[window])` and `increase(selector[window])` of one
metric's plain selector are rewritten, and only when every counter read of
the SLI can be (all or nothing: an exact total beside an extrapolated errors
read would skew the ratio). Anything this module cannot rewrite with
certainty (native histograms, `irate`, `offset`/`@` inside the call, a regex
over metric names, a spelling the pattern and the parser disagree about, a
rewrite that would touch a string literal) leaves the SLI's queries as
written.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Any

import promql_parser

from generator.spec.promql import parse_error, vector_selectors, walk
from generator.units.durations import Duration, format_duration
from generator.units.numbers import format_number

LOOKBACK_MS = 300_000  # Prometheus' default lookback delta: how far back `x offset w` may find its sample
MIN_SPAN = 0.75  # of the tile: the boundary samples' span below which a tile is Prometheus' own rate
COUNTER_FUNCTIONS = ("rate", "increase", "irate")  # every function whose reads a partial rewrite would skew

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_QUOTED = r'"(?:[^"\\]|\\.)*+"|\'(?:[^\'\\]|\\.)*+\'|`[^`]*+`'
_BRACES = rf"\{{(?:[^{{}}\"'`]|{_QUOTED})*+\}}"
_SELECTOR = rf"(?:{_NAME}(?:\s*+{_BRACES})?|{_BRACES})"  # possessive: no backtracking over long whitespace


def _call_pattern(window: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![a-zA-Z0-9_:])(?P<fn>rate|increase)\s*+\(\s*+(?P<sel>{_SELECTOR})\s*+\[\s*+{re.escape(window)}\s*+\]\s*+\)"
    )


def exact_counter_reads(queries: tuple[str, ...], window: Duration) -> tuple[str, ...]:
    """The queries with every counter read over `window` exact, or all of them as written.

    All or nothing: an SLI's errors and total must be read the same way, or
    the extrapolation left on one side skews the ratio (a burst in the
    extrapolated minute would dilute the errors against an exact total).
    """
    rewritten = tuple(_rewrite(query, window.millis, window.text) for query in queries)
    if any(text is None for text in rewritten):
        return queries
    return tuple(text for text in rewritten if text is not None)


@lru_cache(maxsize=1 << 14)
def _rewrite(query: str, window_ms: int, window_text: str) -> str | None:
    """`query` with its counter reads exact; itself if it has none; None if it has one this cannot rewrite."""
    calls = _counter_calls(query, window_ms)
    if calls is None:
        return None
    matches = list(_call_pattern(window_text).finditer(query))
    if len(matches) != calls:
        return None
    pieces, end = [], 0
    for match in matches:
        pieces += [query[end : match.start()], _exact(match["fn"], match["sel"].strip(), window_ms, window_text)]
        end = match.end()
    rewritten = "".join([*pieces, query[end:]])
    if parse_error(rewritten) is not None or _literals(rewritten) != _literals(query):
        return None  # the rewrite only ever repeats the query's own selectors and strings; anything else is a misread
    return rewritten


def _literals(query: str) -> tuple[set[tuple[str, tuple[tuple[str, str, str], ...]]], set[str]]:
    """The query's selectors and string literals: a rewrite repeats some of them and must change none."""
    selectors = {(name, tuple(matchers)) for name, matchers in vector_selectors(query)}
    strings = {node.val for node in walk(promql_parser.parse(query)) if isinstance(node, promql_parser.StringLiteral)}
    return selectors, strings


def resets_range(window_ms: int) -> str:
    """The range over which a reset sends the tile to `rate`: the tile, the lookback before it and one scrape."""
    return format_duration(window_ms + LOOKBACK_MS + 60_000)


def _exact(function: str, selector: str, window_ms: int, window_text: str) -> str:
    """The counter's rate between its samples at the tile's two ends; Prometheus' own where it reset or is young.

    Divided by the time between those two samples, not by the tile: when
    the scrape interval does not divide the tile (2m scrapes, 5m tiles) the
    samples span 4 or 6 minutes by turns, and errors and total scraped on
    different grids would otherwise swing the ratio every evaluation. When
    it divides (15s, 30s, 1m) the span is the tile and the tiles add up to
    the counter's exact increase. Present exactly where `rate` is (two
    samples in the tile): an instant lookup alone would keep a vanished
    series alive for the whole lookback and delay `SLOSLIMissing`. Samples
    less than MIN_SPAN of the tile apart go to `rate` too: a series that
    stopped without a stale marker then fades as with `rate` instead of
    repeating its last rate, and two samples milliseconds apart (explicit
    timestamps, an engine whose `timestamp()` returns 0) never divide by
    almost nothing.
    """
    older = f"{selector} offset {window_text}"
    span = f"(timestamp({selector}) - timestamp({older}) >= {format_number(window_ms * MIN_SPAN / 1000)})"
    per_second = (
        f"(({selector} - {older}) / {span} >= 0"
        f" unless resets({selector}[{resets_range(window_ms)}]) > 0)"
        f" and count_over_time({selector}[{window_text}]) > 1"
    )
    if function == "increase":
        return f"(({per_second}) * {format_number(window_ms / 1000)} or increase({selector}[{window_text}]))"
    return f"({per_second} or rate({selector}[{window_text}]))"


def _counter_calls(query: str, window_ms: int) -> int | None:
    """How many counter reads the query has, all of the rewritable kind; None if any is not (or it does not parse).

    Rewritable: `rate` or `increase` of one metric's plain selector over the
    window, with no `offset` or `@` inside the call, and no `histogram_*`
    function in the query.
    """
    try:
        root = promql_parser.parse(query)
    except (ValueError, TypeError):
        return None
    window, found = timedelta(milliseconds=window_ms), 0
    for node in walk(root):
        if isinstance(node, promql_parser.Call) and node.func.name.startswith("histogram_"):
            return None  # native histograms: their subtraction is not portable to Prometheus 2.x
        if isinstance(node, promql_parser.Call) and node.func.name in COUNTER_FUNCTIONS:
            argument = node.args[0]
            if not (
                node.func.name != "irate"
                and isinstance(argument, promql_parser.MatrixSelector)
                and argument.range == window
                and argument.vector_selector.offset is None
                and argument.vector_selector.at is None
                and _one_metric(argument.vector_selector)  # `x - x offset w` of several names would match many to many
            ):
                return None
            found += 1
    return found


def _one_metric(selector: Any) -> bool:
    """Whether the selector names one metric (a name, or `__name__="x"`), not a regex over names."""
    if selector.name:
        return True
    return any(
        m.name == "__name__" and str(m.op).endswith("Equal") and not str(m.op).endswith("NotEqual")
        for m in selector.matchers.matchers
    )
