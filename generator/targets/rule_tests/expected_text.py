"""The alert labels and annotations promtool must see: the rules' templates expanded as Prometheus would.

`$value` is a float promtool computes; where the text could differ within
two ulps of it the group is skipped (`Boundary`) or nudged to other inputs.
Simple actions (`$value` or a label through humanize functions) are
remembered per value, since every SLO with that value prints them alike.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from generator.model.slo import SLO, Settings, Tier
from generator.model.windows import windows_of
from generator.targets import labels as L
from generator.targets.alert_text import FUNCTIONS, TemplateUnsupported, expand
from generator.targets.rule_tests.basics import Boundary, Skip
from generator.targets.rule_types import AlertingRule
from generator.targets.rules import alert_rule, missing_sli_rule
from generator.units.numbers import format_number


def _expected(rule: AlertingRule, value: float, sample_labels: dict[str, str]) -> dict:
    """exp_labels/exp_annotations of an alert: rule labels over the expression's labels, templates expanded."""
    return _expected_with(rule, sample_labels, _expansions(rule, value, sample_labels))


def _expansions(rule: AlertingRule, value: float, sample_labels: dict[str, str]) -> dict[str, str]:
    """Each template of the rule's labels, then annotations, expanded; text without `{{` is literal."""
    labels = tuple(sample_labels.items())
    try:
        return {
            text: expand_template(text, value, sample_labels, labels)
            for part in ("labels", "annotations")
            for text in rule[part].values()
            if "{{" in text
        }
    except TemplateUnsupported as exc:
        raise Skip(f"cannot predict the text of {rule['alert']}'s annotations: {exc}") from exc


def _expected_with(rule: AlertingRule, sample_labels: dict[str, str], expanded: dict[str, str]) -> dict:
    labels = dict(sample_labels)
    labels.update({key: expanded.get(text, text) for key, text in rule["labels"].items()})
    annotations = {key: expanded.get(text, text) for key, text in rule["annotations"].items()}
    return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(annotations.items()))}


def alert_values(slo: SLO, ratio: Fraction) -> list[float]:
    """`$value` as promtool may compute it: the short-window ratio's float, give or take two ulps, / the budget.

    A ratio of exactly 0 or 1 has identical error and total sums, so its float is exact.
    """
    return list(_alert_values(ratio, slo.error_budget))


@lru_cache(maxsize=1 << 12)
def _alert_values(ratio: Fraction, error_budget: Decimal) -> tuple[float, ...]:
    budget = float(format_number(error_budget))
    center = float(ratio)
    if ratio in (0, 1):
        return (center / budget,)
    values, low, high = [center], center, center
    for _ in range(2):
        low, high = math.nextafter(low, -math.inf), math.nextafter(high, math.inf)
        values += [low, high]
    return tuple(value / budget for value in values)


def burn_alert(slo: SLO, tier: Tier, settings: Settings, ratio: Fraction) -> dict:
    """The firing alert promtool must see: `$value` is the short-window burn rate."""
    sample = {L.SERVICE: slo.service, L.SLO: slo.name, L.WINDOW: tier.short_window.text}
    rule = alert_rule(slo, tier, settings)
    first, *others = values = _alert_values(ratio, slo.error_budget)
    expanded = _expansions(rule, first, sample)
    if (
        others
        and not _all_alike(values, sample, expanded)
        and not all(expands_alike(rule, value, first, sample, expanded) for value in others)
    ):
        raise Boundary(f"the alert value {first} sits on a rounding boundary of its annotation text")
    return _expected_with(rule, sample, expanded)


def _all_alike(values: tuple[float, ...], sample: dict[str, str], expanded: dict[str, str]) -> bool:
    """Whether every template is simple and each of its actions prints the same for all `values` (a shortcut)."""
    labels = tuple(sample.items())
    try:
        return all(
            parts is not None and all(_prints_alike(action, values, labels) for action in parts[1::2])
            for parts in map(template_parts, expanded)
        )
    except Exception:  # any failure: decide value by value, as the rule would
        return False


def _prints_alike(action: str, values: tuple[float, ...], labels: tuple[tuple[str, str], ...]) -> bool:
    return _cached_prints_alike(action, values, labels if "$labels" in action else ())


@lru_cache(maxsize=1 << 14)
def _cached_prints_alike(action: str, values: tuple[float, ...], labels: tuple[tuple[str, str], ...]) -> bool:
    first = _action_text(action, values[0], labels)
    return all(_action_text(action, value, labels) == first for value in values[1:])


def expands_alike(
    rule: AlertingRule, value: float, first: float, sample: dict[str, str], expanded: dict[str, str]
) -> bool:
    """Whether `value` expands each template as `first` did (`expanded`), failing as `_expansions` would.

    Literal text does not depend on the value: a template whose actions each
    print the same for both values expands alike.
    """
    alike, labels = True, tuple(sample.items())
    for text in expanded:
        parts = template_parts(text)
        try:
            if parts is not None and all(
                _action_text(action, value, labels) == _action_text(action, first, labels) for action in parts[1::2]
            ):
                continue
        except TemplateUnsupported:
            pass
        try:
            alike = expand_template(text, value, sample, labels) == expanded[text] and alike
        except TemplateUnsupported as exc:
            raise Skip(f"cannot predict the text of {rule['alert']}'s annotations: {exc}") from exc
    return alike


# Actions that only print `$value` or a label through the humanize functions:
# no quoting, no whitespace trimming, no state, so each prints the same
# wherever it stands, and its text is shared by every SLO with that value.
_OPERAND = r"(?:\$value|\$labels\.[A-Za-z_][A-Za-z0-9_]*)"
_FUNCTION = "(?:" + "|".join(re.escape(name) for name in sorted(FUNCTIONS)) + ")"
_SIMPLE_ACTION = re.compile(rf"\s*(?:{_OPERAND}|{_FUNCTION}\s+{_OPERAND})(?:\s*\|\s*{_FUNCTION})*\s*")
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def expand_template(text: str, value: float, sample_labels: dict[str, str], labels: tuple[tuple[str, str], ...]) -> str:
    """`expand(text, value, sample_labels)`, put together from remembered actions where they are simple."""
    parts = template_parts(text)
    if parts is None:
        return expand(text, value, sample_labels)
    try:
        texts = list(parts)
        for index in range(1, len(parts), 2):
            texts[index] = _action_text(parts[index], value, labels)
        return "".join(texts)
    except TemplateUnsupported:
        return expand(text, value, sample_labels)  # fails as it should


@lru_cache(maxsize=1 << 12)
def template_parts(text: str) -> tuple[str, ...] | None:
    """Literal text and actions, alternately, when every action is simple; None otherwise."""
    parts: list[str] = []
    position = 0
    for match in _ACTION.finditer(text):
        if not _SIMPLE_ACTION.fullmatch(match.group(1)):
            return None
        parts += [text[position : match.start()], match.group(0)]
        position = match.end()
    if len(parts) // 2 != text.count("{{"):
        return None  # an unclosed action
    parts.append(text[position:])
    return tuple(parts)


def _action_text(action: str, value: float, labels: tuple[tuple[str, str], ...]) -> str:
    """One simple action's text; remembered on the labels only when it reads them."""
    return _cached_action_text(action, value, labels if "$labels" in action else ())


@lru_cache(maxsize=1 << 14)
def _cached_action_text(action: str, value: float, labels: tuple[tuple[str, str], ...]) -> str:
    return expand(action, value, dict(labels))


def missing_alert(slo: SLO, settings: Settings) -> dict:
    sample = {L.SERVICE: slo.service, L.SLO: slo.name}
    return _expected(missing_sli_rule(slo, windows_of(slo)[0], settings), 1.0, sample)
