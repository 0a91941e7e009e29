"""The entries of a Prometheus rule file as typed dicts: what `rules.py` builds and the tests and deploy formats read.

Dicts, not dataclasses, because they are dumped to YAML as they are; typed, so
a misspelt key (`annotation`, `label`) is a mypy error, not a rule Prometheus
rejects at load time.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict, TypeGuard


class RecordingRule(TypedDict):
    record: str
    expr: str
    labels: dict[str, str]


# `for` is a keyword, hence the functional form.
AlertingRule = TypedDict(
    "AlertingRule",
    {
        "alert": str,
        "expr": str,
        "for": NotRequired[str],  # absent: fires on the first true evaluation
        "labels": dict[str, str],
        "annotations": dict[str, str],
    },
)

Rule = RecordingRule | AlertingRule


class RuleGroup(TypedDict):
    name: str
    interval: str
    rules: list[Rule]


def is_alerting(rule: Rule) -> TypeGuard[AlertingRule]:
    return "alert" in rule
