"""In-process PromQL checks with promql-parser: early, precise errors only.

promtool stays the authority; this catches typos before any tool runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import promql_parser

from generator.spec.schema import WINDOW_PLACEHOLDER


def walk(root: Any) -> Iterator[Any]:
    """Every node of a parsed query, parents before children (the parser has no visitor)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        for attribute in ("expr", "lhs", "rhs", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, str | int | float):
                stack.append(child)
        stack.extend(getattr(node, "args", None) or ())


def substitute_window(query: str, window: str) -> str:
    return WINDOW_PLACEHOLDER.sub(window, query)


@lru_cache(maxsize=1 << 14)
def parse_error(query: str) -> str | None:
    """None when `query` parses, else the parser's message."""
    try:
        promql_parser.parse(query)
    except (ValueError, TypeError) as exc:
        return str(exc) or "does not parse"
    return None


# Functions and aggregations a rule may not use: it must load on Prometheus 2.x and 3.x without feature flags.
EXPERIMENTAL = {
    "info",
    "limitk",
    "limit_ratio",
    "sort_by_label",
    "sort_by_label_desc",
    "double_exponential_smoothing",
    "mad_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_last_over_time",
    "first_over_time",
}


@lru_cache(maxsize=1 << 14)
def portability_problem(query: str) -> str | None:
    """None when every function and aggregation of `query` exists in Prometheus 2.x and 3.x, else why not."""
    try:
        stack = [promql_parser.parse(query)]
    except (ValueError, TypeError):
        return None  # reported as a parse error
    while stack:
        node = stack.pop()
        name = node.func.name if isinstance(node, promql_parser.Call) else None
        if isinstance(node, promql_parser.AggregateExpr):
            name = str(node.op)
        if name in EXPERIMENTAL:
            return f"`{name}` is experimental: Prometheus loads it only with --enable-feature=promql-experimental-functions"
        for attribute in ("expr", "lhs", "rhs", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, str | int | float):
                stack.append(child)
        stack.extend(getattr(node, "args", None) or ())
    return None


def vector_selectors(query: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric name, [(label, op, value)]) for each vector selector; op is = != =~ !~."""
    return [(name, list(matchers)) for name, matchers in _vector_selectors(query)]


@lru_cache(maxsize=1 << 14)  # validation, rules, rule tests and runbooks all ask about the same queries
def _vector_selectors(query: str) -> tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]:
    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    found: list[tuple[str, tuple[tuple[str, str, str], ...]]] = []
    try:
        root = promql_parser.parse(query)
    except (ValueError, TypeError):
        return ()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            matchers = [
                (m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value)
                for m in node.matchers.matchers
                if m.name != "__name__"
            ]
            name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), "")
            found.append((name, tuple(matchers)))
            continue
        for attribute in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, str | int | float):
                stack.append(child)
        stack.extend(getattr(node, "args", None) or ())
    return tuple(reversed(found))


def metric_names(query: str) -> set[str]:
    """Metric names referenced by vector selectors in `query`."""
    return {name for name, _ in vector_selectors(query) if name}


def selector_problem(query: str) -> str | None:
    """None when `query` is one instant vector selector (name and/or matchers), else why not.

    sloforge wraps these in its own functions (`rate(x_bucket{...}[5m])`,
    `avg_over_time(m[5m])`), so an operator, function, range or modifier
    would produce rules promtool rejects or that mean something else.
    """
    problem = parse_error(query)
    if problem:
        return f"does not parse: {problem}"
    node = promql_parser.parse(query)
    if not isinstance(node, promql_parser.VectorSelector):
        what = {"MatrixSelector": "a range selector", "BinaryExpr": "an expression with an operator"}.get(
            type(node).__name__, "an expression"
        )
        return f"is {what}, not a series selector"
    if node.offset is not None or node.at is not None:
        return "has an offset or @ modifier; give only the metric and label matchers"
    return None
