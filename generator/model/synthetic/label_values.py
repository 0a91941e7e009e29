"""Label values that satisfy a query's matchers, regexes included, so synthetic series reach the real queries."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]

Matcher = tuple[str, str, str]  # (label, op, value); op is = != =~ !~

_WORD_FALLBACKS = ("other", "sloforge", "x", "none")
_NUMBER_FALLBACKS = ("200", "0", "1", "999")


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def matcher_holds(value: str, op: str, pattern: str) -> bool:
    """Prometheus matcher semantics; a missing label has the value ""."""
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    if op == "=~":
        return _fullmatch(pattern, value)
    return not _fullmatch(pattern, value)


def regex_examples(pattern: str, limit: int = 16) -> list[str]:
    """Strings that fully match `pattern`, built from its parse tree (simplest first)."""
    return list(_regex_examples(pattern, limit))


@lru_cache(maxsize=4096)
def _regex_examples(pattern: str, limit: int) -> tuple[str, ...]:
    try:
        parsed = sre_parser.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return ()
    digitish = any(char.isdigit() for char in pattern)
    found: list[str] = []
    for candidate in _expand(list(parsed), digitish, limit):
        if candidate not in found and _fullmatch(pattern, candidate):
            found.append(candidate)
    return tuple(found)


def _expand(items: list, digitish: bool, limit: int) -> list[str]:
    results = [""]
    for op, arg in items:
        options = _options(op, arg, digitish, limit)
        results = list(islice((head + tail for head in results for tail in options), limit))
        if not results:
            return []
    return results


def _options(op, arg, digitish: bool, limit: int) -> list[str]:
    c = sre_constants
    if op is c.LITERAL:
        return [chr(arg)]
    if op is c.NOT_LITERAL:
        return [char for char in ("0", "a", "x") if ord(char) != arg][:1]
    if op is c.ANY:
        return ["0" if digitish else "a"]
    if op is c.IN:
        return _set_members(arg)
    if op is c.BRANCH:
        return [option for branch in arg[1] for option in _expand(list(branch), digitish, limit)][:limit]
    if op is c.SUBPATTERN:
        return _expand(list(arg[-1]), digitish, limit)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = arg
        inner = _expand(list(sub), digitish, limit) or [""]
        counts = [low] + ([low + 1] if high == c.MAXREPEAT or high > low else [])
        return [inner[0] * count for count in counts] + [inner[-1] * max(low, 1)]
    if op is c.CATEGORY:
        return [_category_char(arg)]
    return [""]  # anchors, assertions: contribute nothing; fullmatch decides


def _category_char(category) -> str:
    c = sre_constants
    return {
        c.CATEGORY_DIGIT: "0",
        c.CATEGORY_NOT_DIGIT: "a",
        c.CATEGORY_SPACE: " ",
        c.CATEGORY_NOT_SPACE: "a",
        c.CATEGORY_WORD: "a",
        c.CATEGORY_NOT_WORD: "-",
    }.get(category, "a")


def _set_members(items: list) -> list[str]:
    c = sre_constants
    negated = any(op is c.NEGATE for op, _ in items)
    pool = "0a1bxZ_-.9"

    def member(char: str) -> bool:
        for op, arg in items:
            if op is c.LITERAL and ord(char) == arg:
                return True
            if op is c.RANGE and arg[0] <= ord(char) <= arg[1]:
                return True
            if op is c.CATEGORY and _category_char(arg) == char:
                return True
        return False

    if negated:
        return [char for char in pool if not member(char)][:2]
    chars = []
    for op, arg in items:
        if op is c.LITERAL:
            chars.append(chr(arg))
        elif op is c.RANGE:
            chars.append(chr(arg[0]))
        elif op is c.CATEGORY:
            chars.append(_category_char(arg))
    return chars[:3]


def solve_labels(matchers: list[Matcher]) -> dict[str, str] | None:
    """Label values satisfying every matcher, or None; labels whose value is "" are left out."""
    by_label: dict[str, list[Matcher]] = {}
    for matcher in matchers:
        by_label.setdefault(matcher[0], []).append(matcher)
    labels: dict[str, str] = {}
    for label, own in sorted(by_label.items()):
        candidates: list[str] = []
        positive = [m for m in own if m[1] in ("=", "=~")]
        for _, op, value in positive:
            candidates += [value] if op == "=" else _regex_examples(value, 16)
        examples = [value for _, op, value in own if op in ("=", "!=")] + [
            example for _, op, value in own if op in ("=~", "!~") for example in _regex_examples(value, 16)
        ]
        numeric = any(example.isdigit() for example in examples)
        candidates += list(_NUMBER_FALLBACKS + _WORD_FALLBACKS if numeric else _WORD_FALLBACKS + _NUMBER_FALLBACKS)
        candidates += [example[:-1] + ("1" if example[-1:] == "0" else "0") for example in examples if example]
        candidates.append("")  # the label left out
        chosen = next((value for value in candidates if all(matcher_holds(value, op, v) for _, op, v in own)), None)
        if chosen is None:
            return None
        if chosen:
            labels[label] = chosen
    return labels


def selector_matches(metric: str, labels: dict[str, str], selector: tuple[str, list[Matcher]]) -> bool:
    name, matchers = selector
    return (not name or name == metric) and all(
        matcher_holds(labels.get(label, ""), op, value) for label, op, value in matchers
    )
