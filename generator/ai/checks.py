"""Checks for drafted text: the model's answer is untrusted input.

Each check returns None when the text is acceptable, else the reason. The same
checks guard the model's answer (a rejected item keeps the skeleton text) and
the draft files people edit (a failing item is a file:line:col error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.ai.gotemplate import TemplateProblem, check_template
from generator.ai.schema import AlertText, QueryText, RunbookText
from generator.spec.promql import metric_names, parse_error, vector_selectors

MAX_SUMMARY = 160
MAX_DESCRIPTION = 1000
MAX_ITEM = 500
MAX_TITLE = 100
MAX_QUERY = 500
MAX_ITEMS = 8
RUNBOOK_LISTS = ("likely_causes", "triage", "mitigation")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_NAME_PATTERN = re.compile(r"__name__\s*(?:=~|!~|!=)")
_URL = re.compile(r"\b(?:https?|ftp|file)://|\bwww\.", re.IGNORECASE)


def _plain(text: object, limit: int, *, one_line: bool, prose: bool = True) -> str | None:
    if not isinstance(text, str):
        return f"expected text, got {type(text).__name__}"
    if not text.strip():
        return "is empty"
    if len(text) > limit:
        return f"is {len(text)} characters long; at most {limit} are allowed"
    if _CONTROL.search(text):
        return "contains control characters"
    if one_line and "\n" in text.strip():
        return "must be a single line"
    if prose and _HTML.search(text):
        return "contains HTML markup"
    if prose and _URL.search(text):
        return "contains a URL; links come from the spec, never from drafted text"
    return None


def check_summary(text: object, labels: set[str]) -> str | None:
    return _plain(text, MAX_SUMMARY, one_line=True) or _template(str(text), labels)


def check_description(text: object, labels: set[str]) -> str | None:
    return _plain(text, MAX_DESCRIPTION, one_line=False) or _template(str(text), labels)


def _template(text: str, labels: set[str]) -> str | None:
    try:
        check_template(text, labels)
    except TemplateProblem as exc:
        return f"template not allowed: {exc}"
    return None


def check_item(text: object) -> str | None:
    """One runbook bullet: plain prose (runbooks are not templates, but Markdown)."""
    return _plain(text, MAX_ITEM, one_line=False)


def check_title(text: object) -> str | None:
    return _plain(text, MAX_TITLE, one_line=True)


def check_query(query: object, allowed: set[str]) -> str | None:
    """PromQL must parse and may only read this SLO's metrics and recorded series."""
    problem = _plain(query, MAX_QUERY, one_line=False, prose=False)
    if problem:
        return problem
    assert isinstance(query, str)
    if "{{" in query:
        return "must be plain PromQL without template placeholders; write concrete ranges such as [5m]"
    error = parse_error(query)
    if error:
        return f"PromQL does not parse: {error}"
    selectors = vector_selectors(query)
    if not selectors:
        return "reads no metric of this SLO"
    if any(not name for name, _ in selectors) or _NAME_PATTERN.search(query):
        return "selects series without a metric name (or by a pattern); name the metric"
    unknown = sorted(metric_names(query) - allowed)
    if unknown:
        return f"references metric(s) {', '.join(unknown)} that this SLO does not use or record"
    return None


@dataclass
class Verdict:
    """The accepted part of one SLO's draft, and why the rest was rejected."""

    alerts: dict[str, AlertText] = field(default_factory=dict)
    runbook: RunbookText = field(default_factory=RunbookText)
    rejected: list[str] = field(default_factory=list)

    @property
    def accepted_items(self) -> int:
        count = sum((a.summary is not None) + (a.description is not None) for a in self.alerts.values())
        count += sum(len(getattr(self.runbook, name)) for name in RUNBOOK_LISTS)
        return count + len(self.runbook.investigation)


def judge(answer: object, tiers: list[str], labels: set[str], metrics: set[str]) -> Verdict:
    """Keep what passes; every rejection names the item and the reason."""
    verdict = Verdict()
    if not isinstance(answer, dict):
        verdict.rejected.append(f"answer: expected a JSON object, got {type(answer).__name__}")
        return verdict
    for key in sorted(set(answer) - {"alerts", "runbook"}):
        verdict.rejected.append(f"{key}: ignored: the model may only write alert text and runbook prose")
    _judge_alerts(answer.get("alerts", []), tiers, labels, verdict)
    _judge_runbook(answer.get("runbook", {}), metrics, verdict)
    return verdict


def _judge_alerts(alerts: object, tiers: list[str], labels: set[str], verdict: Verdict) -> None:
    if not isinstance(alerts, list):
        verdict.rejected.append("alerts: expected a list")
        return
    for index, item in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(item, dict):
            verdict.rejected.append(f"{where}: expected an object")
            continue
        tier = item.get("tier")
        if tier not in tiers:
            verdict.rejected.append(f"{where}: no tier {tier!r} in this SLO; expected one of {', '.join(tiers)}")
            continue
        where = f"alerts.{tier}"
        if tier in verdict.alerts:
            verdict.rejected.append(f"{where}: given twice; the first one is kept")
            continue
        for key in sorted(set(item) - {"tier", "summary", "description"}):
            verdict.rejected.append(f"{where}.{key}: ignored: the model may not set labels, expressions or timing")
        text = AlertText()
        for key, check in (("summary", check_summary), ("description", check_description)):
            problem = check(item.get(key), labels)
            if problem:
                verdict.rejected.append(f"{where}.{key}: {problem}")
            else:
                setattr(text, key, item[key].strip())
        if text.summary is not None or text.description is not None:
            verdict.alerts[tier] = text


def _judge_runbook(runbook: object, metrics: set[str], verdict: Verdict) -> None:
    if not isinstance(runbook, dict):
        verdict.rejected.append("runbook: expected an object")
        return
    known = (*RUNBOOK_LISTS, "investigation")
    for key in sorted(set(runbook) - set(known)):
        verdict.rejected.append(f"runbook.{key}: ignored: not a runbook section sloforge drafts")
    for name in RUNBOOK_LISTS:
        kept = _judge_list(runbook.get(name, []), f"runbook.{name}", check_item, verdict)
        setattr(verdict.runbook, name, [item.strip() for _, item in kept])
    queries: list[QueryText] = []
    for index, item in _judge_list(runbook.get("investigation", []), "runbook.investigation", _dict_only, verdict):
        where = f"runbook.investigation[{index}]"
        extra = sorted(set(item) - {"title", "query"})
        problem = check_title(item.get("title")) or check_query(item.get("query"), metrics)
        if extra:
            verdict.rejected.append(f"{where}: unexpected field(s) {', '.join(extra)}")
        elif problem:
            verdict.rejected.append(f"{where} ({str(item.get('title'))[:40]!r}): {problem}")
        else:
            queries.append(QueryText(title=item["title"].strip(), query=item["query"].strip()))
    verdict.runbook.investigation = queries


def _dict_only(item: object) -> str | None:
    return None if isinstance(item, dict) else "expected an object with title and query"


def _judge_list(
    items: object, where: str, check: Callable[[object], str | None], verdict: Verdict
) -> list[tuple[int, object]]:
    """(index, item) of the items that pass `check`; the others are recorded as rejected."""
    if not isinstance(items, list):
        verdict.rejected.append(f"{where}: expected a list")
        return []
    if len(items) > MAX_ITEMS:
        verdict.rejected.append(f"{where}: {len(items)} items; only the first {MAX_ITEMS} are kept")
    kept = []
    for index, item in enumerate(items[:MAX_ITEMS]):
        problem = check(item)
        if problem:
            verdict.rejected.append(f"{where}[{index}]: {problem}")
        else:
            kept.append((index, item))
    return kept
