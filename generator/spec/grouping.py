"""Checks of an SLO's `grouping` (docs/grouping.md): which labels a query's result keeps.

A grouped SLO records every series `by` its grouping labels, so each SLI query
must keep them; an ungrouped SLO sums each query to one series, so a
`sum by (...)` in its query is a grouping the user meant but did not declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import promql_parser

from generator.spec.errors import SpecError
from generator.spec.promql import substitute_window

# Labels a grouping may not use beside sloforge's own: `le` is the histogram bucket bound latency SLIs select on.
GROUPING_RESERVED = {"le", "__name__"}


@dataclass(frozen=True)
class Kept:
    """The labels a query's result series may carry: all but `dropped`, or `only` these."""

    only: frozenset[str] | None = None  # None: every label of the input but `dropped`
    dropped: frozenset[str] = frozenset()
    by: bool = False  # the `only` set comes from an explicit `by (...)` or `on (...)`

    def keeps(self, label: str) -> bool:
        return label in self.only if self.only is not None else label not in self.dropped

    def restrict(self, labels: frozenset[str], *, by: bool) -> Kept:
        kept = frozenset(label for label in labels if self.keeps(label))
        return Kept(only=kept, by=by or self.by)

    def without(self, labels: frozenset[str]) -> Kept:
        if self.only is not None:
            return Kept(only=self.only - labels, by=self.by)
        return Kept(dropped=self.dropped | labels)

    def meet(self, other: Kept) -> Kept:
        """Labels both results keep (`or`: a series may come from either side)."""
        if self.only is None and other.only is None:
            return Kept(dropped=self.dropped | other.dropped)
        if self.only is None:
            return other.restrict(frozenset(label for label in other.only or () if self.keeps(label)), by=other.by)
        return self.restrict(frozenset(label for label in self.only if other.keeps(label)), by=self.by)


SCALAR = Kept(only=frozenset())
# Functions whose result has no labels of their argument (or is a scalar).
_LABEL_FREE = {"vector", "scalar", "time", "absent", "absent_over_time", "pi"}


@lru_cache(maxsize=1 << 12)
def kept_labels(query: str, matched: bool = False) -> Kept | None:
    """What the result of `query` keeps; None when it does not parse (reported elsewhere).

    With `matched`, a one-to-one operation between two vectors keeps only the
    labels both sides keep: a series whose label the other side lacks finds no
    match, so the result has no series for that label at all.
    """
    try:
        return _kept(promql_parser.parse(query), matched)
    except (ValueError, TypeError):
        return None


_SCALAR_FUNCTIONS = {"scalar", "time", "pi"}


def _is_scalar(node) -> bool:
    kind = type(node).__name__
    if kind == "NumberLiteral":
        return True
    if kind in ("ParenExpr", "UnaryExpr"):
        return _is_scalar(node.expr)
    if kind == "Call":
        return node.func.name in _SCALAR_FUNCTIONS
    if kind == "BinaryExpr":
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _kept(node, matched: bool) -> Kept:
    kind = type(node).__name__
    if kind in ("VectorSelector", "MatrixSelector"):
        return Kept()
    if kind in ("NumberLiteral", "StringLiteral"):
        return SCALAR
    if kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
        return _kept(node.expr, matched)
    if kind == "AggregateExpr":
        inner = _kept(node.expr, matched)
        if str(node.op) in ("topk", "bottomk", "limitk", "limit_ratio"):
            return inner  # they select whole series of the input
        modifier = node.modifier
        if modifier is None:
            return SCALAR
        labels = frozenset(modifier.labels)
        if str(modifier.type).endswith("Without"):
            return inner.without(labels)
        return inner.restrict(labels, by=bool(labels))
    if kind == "Call":
        if node.func.name in _LABEL_FREE:
            return SCALAR
        vectors = [arg for arg in node.args if type(arg).__name__ not in ("NumberLiteral", "StringLiteral")]
        return _kept(vectors[0], matched) if vectors else SCALAR
    if kind == "BinaryExpr":
        return _binary(node, matched)
    return Kept()  # unknown node: assume it keeps labels (promtool stays the authority)


def _binary(node, matched: bool) -> Kept:
    lhs, rhs = _kept(node.lhs, matched), _kept(node.rhs, matched)
    scalar_lhs, scalar_rhs = _is_scalar(node.lhs), _is_scalar(node.rhs)
    if scalar_lhs or scalar_rhs:
        return rhs if scalar_lhs else lhs
    modifier = node.modifier
    matching = modifier.matching if modifier is not None else None
    card = str(modifier.card) if modifier is not None else ""
    # group_right: the result carries the right side's labels; otherwise the left's (or both, for `or`).
    side = rhs if card.endswith("OneToMany") else lhs
    if str(node.op) == "or":
        side = lhs.meet(rhs)
    one_to_one = not card.endswith(("ManyToOne", "OneToMany")) and str(node.op) not in ("and", "or", "unless")
    if matched and one_to_one and (matching is None or not str(matching.type).endswith("Include")):
        side = lhs.meet(rhs)  # labels not in ignoring(...) must match on both sides
    if matching is None or card.endswith(("ManyToOne", "OneToMany")) or str(node.op) in ("and", "or", "unless"):
        return side
    labels = frozenset(matching.labels)
    if str(matching.type).endswith("Include"):  # on (...): one-to-one keeps only the matching labels
        return side.restrict(labels, by=True)
    return side.without(labels)  # ignoring (...)


def grouping_errors(src, path: tuple, query: str, grouping: tuple[str, ...]) -> list[SpecError]:
    """A query must keep every grouping label; without grouping, a `by (...)` result is a spec error."""
    kept = kept_labels(substitute_window(query, "5m"), matched=bool(grouping))
    if kept is None:
        return []
    if grouping:
        lost = [label for label in grouping if not kept.keeps(label)]
        if lost:
            names = ", ".join(lost)
            return [
                src.error(
                    path,
                    f"the query's result drops grouping label(s) {names}: every series must keep them, so each "
                    f"group gets its own ratio; aggregate with `sum by ({', '.join(grouping)}) (...)` or leave "
                    "the aggregation out (sloforge adds it)",
                )
            ]
        return []
    if kept.by and kept.only:
        names = ", ".join(sorted(kept.only))
        return [
            src.error(
                path,
                f"`by ({names})` keeps labels sloforge then sums away: an SLO's queries are summed to one series. "
                f"For one SLO per {names} value, add `grouping: [{names}]` to the SLO; otherwise drop the `by (...)`",
            )
        ]
    return []


def grouping_label_errors(
    src, path: tuple, grouping: list[str], taken: dict[str, str], reserved: set[str]
) -> list[SpecError]:
    """Grouping labels: no duplicates, not sloforge's or Prometheus', not a static label (`taken`: label -> whose)."""
    errors: list[SpecError] = []
    seen: set[str] = set()
    for index, label in enumerate(grouping):
        where = path + ("grouping", index)
        if label in seen:
            errors.append(src.error(where, f"grouping label {label!r} is listed twice"))
        elif label in reserved or label.startswith(("slo_", "__")) or label in GROUPING_RESERVED:
            errors.append(src.error(where, f"grouping label {label!r} is sloforge's or Prometheus'; choose another"))
        elif label in taken:
            errors.append(
                src.error(
                    where,
                    f"grouping label {label!r} is also a static label of {taken[label]}; a series cannot carry both "
                    "values, so rename one of them",
                )
            )
        seen.add(label)
    return errors
