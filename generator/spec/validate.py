"""Semantic checks across fields and documents, each error at its YAML node.

These are the checks a document set needs no model for. Checks of resolved
tiers (a tier's windows against its SLO's window) need the model's tier
resolution and live in `generator.model.validate`, whose `validate()` runs
both (docs/design.md, layers).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from pydantic import ValidationError

from generator.spec import secrets
from generator.spec.budget_checks import budget_policy_errors
from generator.spec.defaults import DEFAULT_EVALUATION_INTERVAL
from generator.spec.errors import SpecError
from generator.spec.grouping import grouping_errors, grouping_label_errors
from generator.spec.load import LoadedDocument, SpecSet, did_you_mean
from generator.spec.promql import parse_error, portability_problem, selector_problem, substitute_window
from generator.spec.safe_text import template_problem
from generator.spec.schema import (
    WINDOW_PLACEHOLDER,
    PolicyDoc,
    ServiceDoc,
    SLOSpec,
    TeamsDoc,
    TierSpec,
)
from generator.spec.yaml_source import Document, PathKey
from generator.units.durations import Duration, DurationError, parse_duration

MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 90
MIN_TIER_WINDOW = "10s"  # shorter holds one or two scrapes at most (the local demo uses 10s)
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")  # sloforge adds these to the histogram's base name
# sloforge's own labels: every `slo_*` name (slo_service, slo_notify, slo_budget_stage, ...) and these.
RESERVED_LABELS = {"severity", "team", "alertname", "alertstate", "__name__"}


def is_reserved_label(name: str) -> bool:
    return name in RESERVED_LABELS or name.startswith("slo_")


def document_errors(specs: SpecSet, interval: Duration) -> list[SpecError]:
    """Every problem of the spec set that needs no tier resolution (the Policy's own: `policy_errors`)."""
    errors: list[SpecError] = list(specs.errors)
    teams = _check_teams(specs, errors)
    errors += _check_silent_page_teams(specs, teams)
    errors += secrets.spec_set_errors(specs)
    # A Teams document that failed its schema check would make every team look missing.
    check_teams = not ({"Teams", "*"} & specs.failed_kinds)
    seen_services: dict[str, LoadedDocument] = {}
    for doc in specs.of_kind(ServiceDoc):
        service: ServiceDoc = doc.model
        src = doc.source
        if service.service in seen_services:
            first = seen_services[service.service].source
            errors.append(
                src.error(
                    ("service",),
                    f"service {service.service!r} is already defined in {first.file}:{first.locate(('service',))[0]}",
                )
            )
        seen_services.setdefault(service.service, doc)
        if check_teams and service.team not in teams:
            errors.append(
                src.error(
                    ("team",),
                    f"team {service.team!r} is not defined in any Teams document{did_you_mean(service.team, sorted(teams))}"
                    + (f"; known teams: {', '.join(sorted(teams))}" if teams else "; add a kind: Teams document"),
                )
            )
        for label in service.labels:
            if is_reserved_label(label) or label.startswith("__"):
                owner = "Prometheus (names starting with __)" if label.startswith("__") else "sloforge"
                errors.append(
                    src.error(("labels", label), f"label {label!r} is set by {owner}; choose another name", at_key=True)
                )
        names: dict[str, int] = {}
        for index, slo in enumerate(service.slos):
            path = ("slos", index)
            if slo.name in names:
                errors.append(
                    src.error(
                        path + ("name",),
                        f"duplicate SLO name {slo.name!r}; first used by slos[{names[slo.name]}] in this service",
                    )
                )
            names.setdefault(slo.name, index)
    policy_labels = {
        label: f"the Policy tier {name}"
        for doc in specs.of_kind(PolicyDoc)
        for name, tier in doc.model.tiers.items()
        for label in ((tier.labels or {}) if tier else {})
    }
    slos = list(slo_specs(specs))
    for src, slo_path, slo, service_labels in slos:
        errors += _check_slo(src, slo_path, slo, interval, service_labels, policy_labels)
    errors += _tier_labels_named_like_groupings(specs, slos)
    errors += budget_policy_errors(specs)
    return errors


def _tier_labels_named_like_groupings(
    specs: SpecSet, slos: list[tuple[Document, PathKey, SLOSpec, dict]]
) -> list[SpecError]:
    """Inhibition matches alerts on every grouping label in use (`equal`): a label one tier of an SLO sets alone
    would keep that tier from muting its less severe siblings. (On a grouped SLO itself it is already an error.)"""
    owners: dict[str, str] = {}
    for doc in specs.of_kind(ServiceDoc):
        for slo in doc.model.slos:
            for label in slo.grouping:
                owners.setdefault(label, f"{doc.model.service}/{slo.name}")
    errors: list[SpecError] = []
    for src, path, slo, _ in slos:
        for name, tier in slo.alerting.items():
            for label in (tier.labels or {}) if tier else {}:
                if label in owners and label not in slo.grouping:
                    errors.append(
                        src.error(
                            path + ("alerting", name, "labels", label),
                            f"label {label!r} is a grouping label of {owners[label]}: Alertmanager matches alerts "
                            "on it to mute within an SLO, so a value on one tier only would stop this tier muting "
                            "its less severe alerts; rename it",
                            at_key=True,
                        )
                    )
    return errors


def slo_specs(specs: SpecSet) -> Iterator[tuple[Document, PathKey, SLOSpec, dict]]:
    """Every SLO with its document, path and service labels, those of Service documents whose schema check failed too.

    Every error of a run is reported at once, so a typo in one SLO does not
    hide a bad query in the next.
    """
    for doc in specs.of_kind(ServiceDoc):
        service: ServiceDoc = doc.model
        for index, slo in enumerate(service.slos):
            yield doc.source, ("slos", index), slo, service.labels
    for src in specs.failed:
        data = src.data if isinstance(src.data, dict) and src.data.get("kind") == "Service" else {}
        slos, labels = data.get("slos"), data.get("labels")
        if not isinstance(slos, list):
            continue
        for index, item in enumerate(slos):
            try:
                slo = SLOSpec.model_validate(item)
            except ValidationError:
                continue  # its schema errors are already reported
            yield src, ("slos", index), slo, labels if isinstance(labels, dict) else {}


# Tier fields a Policy's new tier must set; the rest have defaults.
NEW_TIER_FIELDS = ("notify", "severity", "long_window", "short_window", "budget_share", "for_")
NOTIFY_CLASSES = ("page", "ticket")  # alerting keys that address every tier of a class


def policy_errors(specs: SpecSet, interval: Duration, built_in_tiers: set[str]) -> list[SpecError]:
    """The Policy document's problems; tiers named in `built_in_tiers` (from the model) override, so need not be complete."""
    errors = []
    policies = specs.of_kind(PolicyDoc)
    for extra in policies[1:]:
        errors.append(
            extra.source.error(
                ("kind",), f"only one Policy document is allowed; another is in {policies[0].source.file}"
            )
        )
    known = built_in_tiers
    for doc in policies[:1]:
        for name, spec in doc.model.tiers.items():
            if spec is not None:
                errors += _tier_window_errors(doc.source, ("tiers", name), spec, interval)
            if spec is not None and spec.labels:
                errors += _check_labels(
                    doc.source, ("tiers", name, "labels"), spec.labels, RESERVED_LABELS | {"slo_notify"}
                )
            if name in known or name in NOTIFY_CLASSES or spec is None:
                continue
            fields = spec.model_dump(exclude_none=True)
            missing = [f.rstrip("_") for f in NEW_TIER_FIELDS if f not in fields]
            if missing:
                errors.append(
                    doc.source.error(
                        ("tiers", name),
                        f"new tier {name!r} needs {', '.join(missing)}{did_you_mean(name, sorted(known))}",
                        at_key=True,
                    )
                )
    return errors


def _check_silent_page_teams(specs: SpecSet, teams: set[str]) -> list[SpecError]:
    """`allow_silent_pages` names teams: a typo must not accept nothing (or the wrong team) silently."""
    errors = []
    for doc in specs.of_kind(PolicyDoc):
        allowed = doc.model.settings.allow_silent_pages
        for index, name in enumerate(allowed if isinstance(allowed, list) else []):
            if name not in teams:
                errors.append(
                    doc.source.error(
                        ("settings", "allow_silent_pages", index),
                        f"team {name!r} is not defined in any Teams document{did_you_mean(name, sorted(teams))}",
                    )
                )
    return errors


def team_error(specs: SpecSet, team: str, message: str) -> SpecError:
    """An error at the team's key in the Teams document that defines it."""
    for doc in specs.of_kind(TeamsDoc):
        if team in doc.model.teams:
            return doc.source.error(("teams", team), message, at_key=True)
    return SpecError(str(specs.root), 1, 1, message)


def _check_teams(specs: SpecSet, errors: list[SpecError]) -> set[str]:
    teams: dict[str, LoadedDocument] = {}
    for doc in specs.of_kind(TeamsDoc):
        for name in doc.model.teams:
            if name in teams:
                errors.append(
                    doc.source.error(
                        ("teams", name), f"team {name!r} is already defined in {teams[name].source.file}", at_key=True
                    )
                )
            teams.setdefault(name, doc)
        errors += _template_text(doc.source, ("teams",), doc.model.model_dump(by_alias=True)["teams"])
    return set(teams)


def _template_text(src, path: tuple, value: object) -> list[SpecError]:
    """Receiver fields are Go templates to Alertmanager (slack `channel`, email `to`, ...):
    a stray `{{` there breaks every notification at send time, which no check before that sees."""
    if isinstance(value, dict):
        return [error for key, item in value.items() for error in _template_text(src, path + (key,), item)]
    if isinstance(value, list):
        return [error for index, item in enumerate(value) for error in _template_text(src, path + (index,), item)]
    problem = template_problem(value, "Alertmanager") if isinstance(value, str) else None
    if problem:
        return [src.error(path, f"{path[-1]}: {problem}")]
    return []


def evaluation_interval(specs: SpecSet) -> Duration:
    """The Policy's rule evaluation interval (already range-checked by the schema), else the default."""
    for doc in specs.of_kind(PolicyDoc):
        text = doc.model.settings.evaluation_interval
        if text:
            return parse_duration(text)
    return parse_duration(DEFAULT_EVALUATION_INTERVAL)


def _tier_window_errors(src, path: tuple, spec: TierSpec, interval: Duration) -> list[SpecError]:
    """Windows so short that an alert could never see enough samples to fire."""
    errors = []
    minimum = parse_duration(MIN_TIER_WINDOW)
    for field in ("short_window", "long_window"):
        text = getattr(spec, field)
        if text is None:
            continue
        window = parse_duration(text)
        if window < minimum or window < interval:
            floor = max(minimum, interval)
            errors.append(
                src.error(
                    path + (field,),
                    f"{field} {text} is shorter than {floor}: an alert window must be at least {minimum} and at "
                    f"least the evaluation interval ({interval}), or it holds too few samples to fire",
                )
            )
    return errors


def _check_slo(
    src, path: tuple, slo: SLOSpec, interval: Duration, service_labels: dict, policy_labels: dict[str, str]
) -> list[SpecError]:
    errors: list[SpecError] = []
    _check_window(src, path, slo.window, errors)
    sli_errors = _check_sli(src, path + ("sli",), slo)
    errors += sli_errors + _check_grouping(src, path, slo, service_labels, policy_labels, parsed=not sli_errors)
    for name, spec in slo.alerting.items():
        if spec is not None:
            errors += _tier_window_errors(src, path + ("alerting", name), spec, interval)
    errors += _check_slo_labels(src, path, slo)
    return errors


def _check_grouping(
    src, path: tuple, slo: SLOSpec, service_labels: dict, policy_labels: dict[str, str], parsed: bool
) -> list[SpecError]:
    """Grouping labels are new, free names; every query keeps them (or, ungrouped, has no `by`)."""
    taken = policy_labels | {label: "the service" for label in service_labels}
    taken |= {label: "this SLO" for label in slo.labels}
    for name, spec in slo.alerting.items():
        taken |= {label: f"this SLO's tier {name}" for label in (spec.labels or {} if spec else {})}
    errors = grouping_label_errors(src, path, slo.grouping, taken, RESERVED_LABELS)
    if slo.max_groups is not None and not slo.grouping:
        problem = "`grouping` is empty" if "grouping" in slo.model_fields_set else "it needs `grouping` beside it"
        errors.append(src.error(path + ("max_groups",), f"max_groups counts groups: {problem}"))
    if not parsed or errors:
        return errors  # the queries' own errors first; a refused label is one error, not advice to aggregate by it
    sli, grouping, where = slo.sli, tuple(dict.fromkeys(slo.grouping)), path + ("sli",)
    if sli.events:
        for field in ("errors", "good", "total"):
            query = getattr(sli.events, field)
            if query is not None:
                errors += grouping_errors(src, where + ("events", field), query, grouping)
    elif sli.raw:
        errors += grouping_errors(src, where + ("raw", "error_ratio"), sli.raw.error_ratio, grouping)
    return errors


# slo:info carries these itself beside the SLO's labels.
INFO_LABELS = {"objective", "window", "sli_kind", "description", "slo_notify"}


def _check_slo_labels(src, path: tuple, slo: SLOSpec) -> list[SpecError]:
    """Per-SLO and per-tier labels: not sloforge's own, and literal (Prometheus expands templates in labels)."""
    errors: list[SpecError] = []
    groups = [(path + ("labels",), slo.labels, RESERVED_LABELS | INFO_LABELS)]
    groups += [
        (path + ("alerting", name, "labels"), spec.labels, RESERVED_LABELS | {"slo_notify"})
        for name, spec in slo.alerting.items()
        if spec is not None and spec.labels
    ]
    for where, labels, reserved in groups:
        errors += _check_labels(src, where, labels, reserved)
    return errors


def _check_labels(src, where: tuple, labels: dict[str, str], reserved: set[str]) -> list[SpecError]:
    errors: list[SpecError] = []
    for label, value in labels.items():
        if label in reserved or is_reserved_label(label):
            errors.append(
                src.error(where + (label,), f"label {label!r} is set by sloforge; choose another name", at_key=True)
            )
        elif "{{" in value or "}}" in value:
            errors.append(
                src.error(
                    where + (label,),
                    f"label {label!r} holds a template; Prometheus would expand it, so labels must be literal text",
                )
            )
    return errors


def _check_window(src, path: tuple, text: str, errors: list[SpecError]) -> None:
    if problem := _window_problem(text):
        errors.append(src.error(path + ("window",), problem))


def slo_window(text: str) -> Duration | None:
    """The SLO window, or None when it has a problem (reported by `document_errors`)."""
    return None if _window_problem(text) else parse_duration(text)


def _window_problem(text: str) -> str | None:
    try:
        window = parse_duration(text)
    except DurationError:
        return f"window {text!r} is not a duration; expected Nd or Nw between {MIN_WINDOW_DAYS}d and {MAX_WINDOW_DAYS}d, e.g. 30d"
    if not text[:-1].isdigit() or text[-1] not in "dw":
        return f"window {text!r} must be whole days or weeks (Nd or Nw), e.g. 28d or 4w"
    days = window.seconds / 86400
    if not MIN_WINDOW_DAYS <= days <= MAX_WINDOW_DAYS:
        return f"window {text!r} is {days:g} days; expected between {MIN_WINDOW_DAYS}d and {MAX_WINDOW_DAYS}d"
    return None


def _check_query(src, path: tuple, query: str, *, needs_window: bool) -> list[SpecError]:
    if needs_window and not WINDOW_PLACEHOLDER.search(query):
        return [
            src.error(
                path,
                "query has no {{.window}} placeholder; write the range as [{{.window}}] so sloforge can choose the window",
            )
        ]
    if not needs_window and WINDOW_PLACEHOLDER.search(query):
        return [src.error(path, "this query is read per sample and takes no {{.window}} placeholder")]
    problem = parse_error(substitute_window(query, "5m"))
    if problem:
        return [src.error(path, f"PromQL does not parse: {problem}")]
    problem = portability_problem(substitute_window(query, "5m"))
    if problem:
        return [src.error(path, problem)]
    return []


def _check_sli(src, path: tuple, slo: SLOSpec) -> list[SpecError]:
    sli = slo.sli
    errors: list[SpecError] = []
    if sli.events:
        for field in ("errors", "good", "total"):
            query = getattr(sli.events, field)
            if query is not None:
                errors += _check_query(src, path + ("events", field), query, needs_window=True)
    elif sli.raw:
        errors += _check_query(src, path + ("raw", "error_ratio"), sli.raw.error_ratio, needs_window=True)
    elif sli.bool_gauge:
        errors += _check_query(src, path + ("bool_gauge", "metric"), sli.bool_gauge.metric, needs_window=False)
        problem = None if errors else selector_problem(sli.bool_gauge.metric.strip())
        if problem:
            errors.append(
                src.error(
                    path + ("bool_gauge", "metric"),
                    f'metric {problem}; expected a series selector such as probe_success{{job="blackbox"}}',
                )
            )
    elif sli.latency:
        latency = sli.latency
        for suffix in HISTOGRAM_SUFFIXES:
            if latency.histogram.endswith(suffix):
                base_name = latency.histogram.removesuffix(suffix)
                errors.append(
                    src.error(
                        path + ("latency", "histogram"),
                        f"histogram takes the base name, without {suffix}; did you mean {base_name!r}?",
                    )
                )
        selector = latency.selector.strip()
        problem = (
            "selector must be label matchers in braces, e.g. '{job=\"checkout\"}'"
            if selector and not (selector.startswith("{") and selector.endswith("}"))
            else selector_problem(f"{latency.histogram}_bucket{selector}")
        )
        if problem and not problem.startswith("selector"):
            problem = f"selector {problem}; expected label matchers in braces, e.g. '{{job=\"checkout\"}}'"
        if problem:
            errors.append(src.error(path + ("latency", "selector"), problem))
        if latency.buckets is not None:
            threshold = parse_duration(latency.threshold).seconds
            try:
                bounds = [Decimal(str(b)) for b in latency.buckets]
            except ArithmeticError:
                bounds = []
            if Decimal(str(threshold)) not in bounds:
                errors.append(
                    src.error(
                        path + ("latency", "threshold"),
                        f"threshold {latency.threshold} ({threshold:g}s) is not one of the histogram's buckets {', '.join(str(b) for b in latency.buckets)}",
                    )
                )
    return errors
