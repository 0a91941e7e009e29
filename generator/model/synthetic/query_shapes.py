"""The query shapes sloforge can synthesize inputs for, read from the PromQL parse tree."""

from __future__ import annotations

from functools import lru_cache

import promql_parser

from generator.model.synthetic.label_values import Matcher
from generator.spec.promql import vector_selectors


class Unsupported(ValueError):
    """The SLI's queries have a shape sloforge cannot synthesize inputs for; the message says why."""


def _unwrap(node):
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


def _selector_of(node, what: str):
    if type(node).__name__ != "VectorSelector":
        raise Unsupported(f"{what}: expected a series selector")
    if node.offset is not None or node.at is not None:
        raise Unsupported(f"{what}: `offset` and `@` cannot be synthesized")
    if getattr(node.matchers, "or_matchers", None):
        raise Unsupported(f"{what}: `or` inside a selector cannot be synthesized")
    return node


def only_selector(query: str, what: str) -> tuple[str, list[Matcher]]:
    return _named(cached_vector_selectors(query), what)


def _named(selectors: list[tuple[str, list[Matcher]]], what: str) -> tuple[str, list[Matcher]]:
    if len(selectors) != 1:
        raise Unsupported(f"{what}: expected exactly one series selector, found {len(selectors)}")
    if not selectors[0][0]:
        raise Unsupported(f"{what}: the selector needs a metric name")
    return selectors[0]


@lru_cache(maxsize=1 << 13)
def cached_vector_selectors(query: str) -> list[tuple[str, list[Matcher]]]:
    """`vector_selectors`, remembered (the SLO's rules and its plan read the same queries); read-only."""
    return vector_selectors(query)


_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def selector_tuple(node) -> tuple[str, list[Matcher]]:
    """What `vector_selectors` returns for one VectorSelector node, from a tree already parsed.

    For queries whose shape was checked to hold exactly this selector, it
    saves parsing the query again (parsing dominates planning).
    """
    matchers = [
        (m.name, _MATCH_OPS[str(m.op).rsplit(".", 1)[-1]], m.value)
        for m in node.matchers.matchers
        if m.name != "__name__"
    ]
    name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), "")
    return name, matchers


def parse_query(query: str, what: str):
    try:
        return _unwrap(promql_parser.parse(query))
    except (ValueError, TypeError) as exc:
        raise Unsupported(f"{what}: does not parse: {exc}") from exc


def counter_rate_selector(query: str, what: str) -> tuple[str, tuple[str, list[Matcher]]]:
    """`[sum(] rate|increase(metric{...}[w]) [)]` -> (function, selector)."""
    node = parse_query(query, what)
    if type(node).__name__ == "AggregateExpr" and str(node.op) == "sum":
        node = _unwrap(node.expr)
    if type(node).__name__ != "Call" or node.func.name not in ("rate", "increase"):
        raise Unsupported(f"{what}: expected sum(rate(<counter>[{{{{.window}}}}]))")
    matrix = _unwrap(node.args[0])
    if type(matrix).__name__ != "MatrixSelector":
        raise Unsupported(f"{what}: expected a range selector inside {node.func.name}()")
    # sum(rate(<selector>[w])): the selector is the query's only one
    return node.func.name, _named([selector_tuple(_selector_of(matrix.vector_selector, what))], what)


def gauge_selector(query: str, what: str) -> tuple[tuple[str, list[Matcher]], bool]:
    """`[agg(] [avg_over_time(] gauge{...} [[w])] [)]` -> (selector, averaged over the window)."""
    node = parse_query(query, what)
    while type(node).__name__ == "AggregateExpr" and str(node.op) in ("sum", "avg", "min", "max"):
        node = _unwrap(node.expr)
    averaged = type(node).__name__ == "Call" and node.func.name == "avg_over_time"
    if averaged:
        matrix = _unwrap(node.args[0])
        if type(matrix).__name__ != "MatrixSelector":
            raise Unsupported(f"{what}: expected a range selector inside avg_over_time()")
        node = matrix.vector_selector
    # [agg(] [avg_over_time(] <selector> [[w])] [)]: the selector is the query's only one
    return _named([selector_tuple(_selector_of(node, what))], what), averaged
