"""Inhibit rules of the hand-written base config must not mute sloforge's pages.

sloforge's own rules only let a more severe alert of the same SLO mute a less
severe one. A base rule is written for other alerts; when its target matchers
also match a sloforge page, any alert its source matches would silence that
page. Such a rule is an error unless the Policy accepts it explicitly
(`settings.base_inhibit_may_mute_pages: true`, e.g. for a cluster-down alert).
"""

from __future__ import annotations

import re

from generator.model.slo import Model
from generator.targets import labels as L
from generator.targets.alertmanager.alerts import generated_alerts
from generator.targets.alertmanager.routes import Matcher

PathKey = tuple[str | int, ...]
_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def parse_matcher(text: str) -> Matcher | None:
    """One Alertmanager matcher (`name="value"`, `name=~value`, ...); None when it is not one."""
    found = _MATCHER.match(text.strip().removeprefix("{").removesuffix("}"))
    if not found:
        return None
    label, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value[1:-1])
    return Matcher(label, op, value)


def target_matchers(rule: object) -> list[Matcher] | None:
    """Every target matcher of an inhibit rule in any of its three spellings; None if one cannot be read."""
    if not isinstance(rule, dict):
        return None
    matchers: list[Matcher] = []
    for text in rule.get("target_matchers") or []:
        parsed = parse_matcher(str(text))
        if parsed is None:
            return None
        matchers.append(parsed)
    for key, op in (("target_match", "="), ("target_match_re", "=~")):
        for label, value in (rule.get(key) or {}).items():
            matchers.append(Matcher(str(label), op, str(value)))
    return matchers


def page_muting_rules(base: object, model: Model) -> list[tuple[PathKey, str]]:
    """(position, message) for each base inhibit rule whose targets include a sloforge page."""
    rules = base.get("inhibit_rules") if isinstance(base, dict) else None
    if not isinstance(rules, list) or model.settings.base_inhibit_may_mute_pages:
        return []
    pages = [alert.label_map for alert in generated_alerts(model) if alert.label_map.get(L.NOTIFY) == "page"]
    problems: list[tuple[PathKey, str]] = []
    for index, rule in enumerate(rules):
        matchers = target_matchers(rule)
        if matchers is None:
            continue  # amtool reports matchers it cannot parse
        try:
            muted = [page for page in pages if all(matcher.matches(page) for matcher in matchers)]
        except re.error:
            continue
        if muted:
            first = muted[0]
            problems.append(
                (
                    ("inhibit_rules", index),
                    f"this inhibit rule can mute sloforge pages ({len(muted)}, e.g. {first[L.ALERTNAME]} of "
                    f'{first[L.SERVICE]}/{first[L.SLO]}): add a target matcher such as {L.NOTIFY}!="page", '
                    "or set settings.base_inhibit_may_mute_pages: true in the Policy if that is intended",
                )
            )
    return problems
