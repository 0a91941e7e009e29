"""Checks for drafted text: the model's answer is untrusted input.

Each check returns None when the text is acceptable, else the reason. The same
checks guard the model's answer (a rejected item keeps the skeleton text) and
the draft files people edit (a failing item is a file:line:col error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.ai.context import alert_label_names
from generator.ai.gotemplate import TemplateProblem, check_template
from generator.ai.schema import AlertText, DraftEntry, QueryText, RunbookText
from generator.model.slo import SLO, Model
from generator.spec.promql import metric_names, parse_error, vector_selectors
from generator.targets.investigation import allowed_metrics

MAX_SUMMARY = 160
MAX_DESCRIPTION = 1000
MAX_ITEM = 500
MAX_TITLE = 100
MAX_QUERY = 500
MAX_MODEL = 100
MAX_ITEMS = 8
RUNBOOK_LISTS = ("likely_causes", "triage", "mitigation")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi overrides and isolates, direction marks, zero-width and line-separator characters:
# text that reads one way and renders (or executes) another.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!?]|&#?[a-zA-Z0-9]+;")  # a tag need not be closed to start an HTML block
_IMAGE = re.compile(r"!\[")
_FENCE = re.compile(r"```|~~~")
_BLOCK = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|(?:=+|-{2,})[ \t]*$|(?:[*_][ \t]*){3,}$)", re.MULTILINE)
_NAME_PATTERN = re.compile(r"__name__\s*(?:=~|!~|!=)")
_SCHEME_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>()\[\]`'\"]*", re.IGNORECASE)
_BAD_SCHEME = re.compile(r"\b(?:javascript|vbscript)\s*:|\bdata:[a-z]+/|\bfile:/", re.IGNORECASE)
_PROTOCOL_RELATIVE = re.compile(r"(?<![\w:/])//[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
_WWW = re.compile(r"(?<![\w./-])www\.[a-z0-9-]+\.", re.IGNORECASE)
_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)|^ {0,3}\[[^\]]+\]:\s*<?(\S*?)>?(?:\s|$)", re.MULTILINE)


@dataclass(frozen=True)
class TextRules:
    """What drafted text of one SLO may refer to: its alert labels, metrics, tiers and the spec's base URLs."""

    labels: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()
    tiers: tuple[str, ...] = ()
    link_prefixes: tuple[str, ...] = ()  # runbook_base_url, dashboard_base_url (http/https only)


def rules_for(slo: SLO, model: Model) -> TextRules:
    """The rules for drafted text of `slo`: the same at draft time and at render time."""
    settings = model.settings
    return TextRules(
        labels=frozenset(alert_label_names(slo)),
        metrics=frozenset(allowed_metrics(slo)),
        tiers=tuple(tier.name for tier in slo.tiers),
        link_prefixes=link_prefixes(settings.runbook_base_url, settings.dashboard_base_url),
    )


def link_prefixes(*base_urls: str) -> tuple[str, ...]:
    """The spec's own base URLs that drafted links may point under."""
    return tuple(sorted({url for url in base_urls if url and re.match(r"https?://[^/?#\s]+", url, re.IGNORECASE)}))


def _allowed_link(url: str, prefixes: tuple[str, ...]) -> bool:
    """Under one of the base URLs, at a path boundary (`https://grafana.example.com.evil` is not under it)."""
    bases = (prefix.rstrip("/") for prefix in prefixes)
    return any(url == base or url.startswith(base) and url[len(base)] in "/?#" for base in bases)


def _markup(text: str, prefixes: tuple[str, ...]) -> str | None:
    """Markdown and link problems of prose: no HTML, images, headings, fences, or foreign links."""
    if _HTML.search(text):
        return "contains HTML markup or an HTML entity"
    if _IMAGE.search(text):
        return "contains an image; drafted text may not embed images"
    if _FENCE.search(text):
        return "contains a code fence (``` or ~~~); queries belong in runbook.investigation"
    if _BLOCK.search(text):
        return "contains a Markdown heading, underline or rule; items are plain paragraphs"
    if _BAD_SCHEME.search(text):
        return "contains a javascript:, vbscript:, data: or file: link"
    if _PROTOCOL_RELATIVE.search(text) or _WWW.search(text):
        return "contains a link without a scheme (//host or www.); links come from the spec"
    for match in _LINK_TARGET.finditer(text):
        target = match.group(1) if match.group(1) is not None else match.group(2)
        if not target or "://" not in target:
            return "contains a relative or empty link target; only links under the spec's base URLs are allowed"
    for match in _SCHEME_URL.finditer(text):
        if not _allowed_link(match.group(0), prefixes):
            allowed = ", ".join(prefixes) if prefixes else "none are configured"
            return f"contains a link outside the spec's runbook and dashboard base URLs ({allowed})"
    return None


def _plain(
    text: object, limit: int, *, one_line: bool, prose: bool = True, prefixes: tuple[str, ...] = ()
) -> str | None:
    if not isinstance(text, str):
        return f"expected text, got {type(text).__name__}"
    if not text.strip():
        return "is empty"
    if len(text) > limit:
        return f"is {len(text)} characters long; at most {limit} are allowed"
    if _CONTROL.search(text):
        return "contains control characters"
    if _INVISIBLE.search(text):
        return (
            "contains invisible or bidirectional control characters (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, ...)"
        )
    if one_line and "\n" in text.strip():
        return "must be a single line"
    if not prose:
        return "contains a code fence (``` or ~~~)" if _FENCE.search(text) else None
    return _markup(text, prefixes)


def check_summary(text: object, rules: TextRules) -> str | None:
    return _plain(text, MAX_SUMMARY, one_line=True, prefixes=rules.link_prefixes) or _template(str(text), rules.labels)


def check_description(text: object, rules: TextRules) -> str | None:
    return _plain(text, MAX_DESCRIPTION, one_line=False, prefixes=rules.link_prefixes) or _template(
        str(text), rules.labels
    )


def _template(text: str, labels: frozenset[str]) -> str | None:
    try:
        check_template(text, set(labels))
    except TemplateProblem as exc:
        return f"template not allowed: {exc}"
    return None


def check_item(text: object, rules: TextRules) -> str | None:
    """One runbook bullet: plain prose (runbooks are not templates, but Markdown)."""
    return _plain(text, MAX_ITEM, one_line=False, prefixes=rules.link_prefixes)


def check_title(text: object, rules: TextRules) -> str | None:
    return _plain(text, MAX_TITLE, one_line=True, prefixes=rules.link_prefixes)


def check_model(text: object) -> str | None:
    """Which model (or person) wrote the text: shown in the runbook header, so plain and short, no links."""
    if text == "":
        return None
    return _plain(text, MAX_MODEL, one_line=True)


def check_entry(entry: DraftEntry, rules: TextRules) -> list[tuple[tuple[str | int, ...], str]]:
    """Every problem of one SLO's draft as (path inside the entry, reason).

    The one check for drafted text wherever it comes from: `sloforge draft` runs it on the
    entry it is about to store, the draft loader on every entry of every draft file.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    problem = check_model(entry.model)
    if problem:
        problems.append((("model",), f"model: {problem}"))
    for tier, text in entry.alerts.items():
        for key, check in (("summary", check_summary), ("description", check_description)):
            value = getattr(text, key)
            problem = None if value is None else check(value, rules)
            if problem:
                problems.append((("alerts", tier, key), f"{key}: {problem}"))
    for section in (*RUNBOOK_LISTS, "investigation"):
        items = getattr(entry.runbook, section)
        if len(items) > MAX_ITEMS:
            problems.append((("runbook", section), f"{section}: {len(items)} items; at most {MAX_ITEMS} are allowed"))
    for section in RUNBOOK_LISTS:
        for index, item in enumerate(getattr(entry.runbook, section)):
            problem = check_item(item, rules)
            if problem:
                problems.append((("runbook", section, index), f"{section}[{index}]: {problem}"))
    for index, query in enumerate(entry.runbook.investigation):
        path = ("runbook", "investigation", index)
        problem = check_title(query.title, rules)
        if problem:
            problems.append((path + ("title",), f"title: {problem}"))
        problem = check_query(query.query, set(rules.metrics))
        if problem:
            problems.append((path + ("query",), f"query: {problem}"))
    return problems


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


def judge(answer: object, rules: TextRules) -> Verdict:
    """Keep what passes; every rejection names the item and the reason."""
    verdict = Verdict()
    if not isinstance(answer, dict):
        verdict.rejected.append(f"answer: expected a JSON object, got {type(answer).__name__}")
        return verdict
    for key in sorted(set(answer) - {"alerts", "runbook"}):
        verdict.rejected.append(f"{key}: ignored: the model may only write alert text and runbook prose")
    _judge_alerts(answer.get("alerts", []), rules, verdict)
    _judge_runbook(answer.get("runbook", {}), rules, verdict)
    return verdict


def _judge_alerts(alerts: object, rules: TextRules, verdict: Verdict) -> None:
    tiers = rules.tiers
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
            problem = check(item.get(key), rules)
            if problem:
                verdict.rejected.append(f"{where}.{key}: {problem}")
            else:
                setattr(text, key, item[key].strip())
        if text.summary is not None or text.description is not None:
            verdict.alerts[tier] = text


def _judge_runbook(runbook: object, rules: TextRules, verdict: Verdict) -> None:
    if not isinstance(runbook, dict):
        verdict.rejected.append("runbook: expected an object")
        return
    known = (*RUNBOOK_LISTS, "investigation")
    for key in sorted(set(runbook) - set(known)):
        verdict.rejected.append(f"runbook.{key}: ignored: not a runbook section sloforge drafts")
    for name in RUNBOOK_LISTS:
        kept = _judge_list(runbook.get(name, []), f"runbook.{name}", lambda item: check_item(item, rules), verdict)
        setattr(verdict.runbook, name, [str(item).strip() for _, item in kept])  # check_item passed: a str
    queries: list[QueryText] = []
    for index, item in _judge_list(runbook.get("investigation", []), "runbook.investigation", _dict_only, verdict):
        assert isinstance(item, dict)  # _dict_only passed
        where = f"runbook.investigation[{index}]"
        extra = sorted(set(item) - {"title", "query"})
        problem = check_title(item.get("title"), rules) or check_query(item.get("query"), set(rules.metrics))
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
