"""Semantic checks across fields and documents, each error at its YAML node."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from pydantic import ValidationError

from generator.model.durations import Duration, DurationError, parse_duration
from generator.model.policy import (
    DEFAULT_TIERS,
    MISSING_NEW_TIER_FIELDS,
    NOTIFY_CLASSES,
    TierPolicy,
    apply_overrides,
)
from generator.model.slo import Settings
from generator.spec import secrets
from generator.spec.budget_checks import budget_policy_errors
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.grouping import grouping_errors, grouping_label_errors
from generator.spec.load import LoadedDocument, SpecSet, did_you_mean
from generator.spec.promql import parse_error, selector_problem, substitute_window
from generator.spec.safe_text import template_problem
from generator.spec.schema import (
    WINDOW_PLACEHOLDER,
    PolicyDoc,
    ServiceDoc,
    SLOSpec,
    TeamsDoc,
    TierSpec,
)

MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 90
MIN_TIER_WINDOW = "10s"  # shorter holds one or two scrapes at most (the local demo uses 10s)
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")  # sloforge adds these to the histogram's base name
# sloforge's own labels: every `slo_*` name (slo_service, slo_notify, slo_budget_stage, ...) and these.
RESERVED_LABELS = {"severity", "team", "alertname", "alertstate", "__name__"}


def is_reserved_label(name: str) -> bool:
    return name in RESERVED_LABELS or name.startswith("slo_")


def global_tiers(specs: SpecSet) -> tuple[TierPolicy, ...]:
    """Default tiers with the Policy document's overrides applied (already validated)."""
    tiers = DEFAULT_TIERS
    for doc in specs.of_kind(PolicyDoc):
        overrides = {
            name: None if spec is None else spec.model_dump(exclude_none=True)
            for name, spec in doc.model.tiers.items()  # type: ignore[attr-defined]
        }
        tiers = apply_overrides(tiers, overrides, allow_new=True)
    return tiers


def slo_tiers(base: tuple[TierPolicy, ...], slo: SLOSpec) -> tuple[TierPolicy, ...]:
    overrides = {
        name: None if spec is None else spec.model_dump(exclude_none=True) for name, spec in slo.alerting.items()
    }
    return apply_overrides(base, overrides, allow_new=False)


# A check that needs later stages (e.g. rendered names), run by the pipeline within `validate`.
ExtraCheck = Callable[[SpecSet, tuple[TierPolicy, ...]], list[SpecError]]


def validate(specs: SpecSet, extra_checks: Sequence[ExtraCheck] = ()) -> None:
    """Raise SpecErrors with every semantic problem of the spec set, extra checks' included."""
    errors: list[SpecError] = list(specs.errors)
    interval = evaluation_interval(specs)
    policy_errors = _check_policies(specs, interval)
    errors += policy_errors
    base = global_tiers(specs) if not policy_errors else DEFAULT_TIERS
    for check in extra_checks:
        errors += check(specs, base)
    teams = _check_teams(specs, errors)
    errors += _check_silent_page_teams(specs, teams)
    errors += secrets.spec_set_errors(specs)
    # A Teams document that failed its schema check would make every team look missing.
    check_teams = not ({"Teams", "*"} & specs.failed_kinds)
    seen_services: dict[str, LoadedDocument] = {}
    for doc in specs.of_kind(ServiceDoc):
        service: ServiceDoc = doc.model  # type: ignore[assignment]
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
            errors += _check_slo(src, path, slo, base, interval, service.labels)
    errors += _check_failed_services(specs, base, interval)
    errors += budget_policy_errors(specs)
    if errors:
        raise SpecErrors(errors)


def _check_failed_services(specs: SpecSet, base: tuple[TierPolicy, ...], interval: Duration) -> list[SpecError]:
    """SLO-level checks inside Service documents whose schema check failed elsewhere.

    Every error of a run is reported at once, so a typo in one SLO does not
    hide a bad query in the next.
    """
    errors: list[SpecError] = []
    for src in specs.failed:
        slos = src.data.get("slos") if isinstance(src.data, dict) and src.data.get("kind") == "Service" else None
        if not isinstance(slos, list):
            continue
        for index, item in enumerate(slos):
            try:
                slo = SLOSpec.model_validate(item)
            except ValidationError:
                continue  # its schema errors are already reported
            labels = src.data.get("labels") if isinstance(src.data, dict) else None
            errors += _check_slo(src, ("slos", index), slo, base, interval, labels if isinstance(labels, dict) else {})
    return errors


def _check_policies(specs: SpecSet, interval: Duration) -> list[SpecError]:
    errors = []
    policies = specs.of_kind(PolicyDoc)
    for extra in policies[1:]:
        errors.append(
            extra.source.error(
                ("kind",), f"only one Policy document is allowed; another is in {policies[0].source.file}"
            )
        )
    known = {tier.name for tier in DEFAULT_TIERS}
    for doc in policies[:1]:
        for name, spec in doc.model.tiers.items():  # type: ignore[attr-defined]
            if spec is not None:
                errors += _tier_window_errors(doc.source, ("tiers", name), spec, interval)
            if spec is not None and spec.labels:
                errors += _check_labels(
                    doc.source, ("tiers", name, "labels"), spec.labels, RESERVED_LABELS | {"slo_notify"}
                )
            if name in known or name in NOTIFY_CLASSES or spec is None:
                continue
            fields = spec.model_dump(exclude_none=True)
            missing = [f.rstrip("_") for f in MISSING_NEW_TIER_FIELDS if f not in fields]
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
        allowed = doc.model.settings.allow_silent_pages  # type: ignore[attr-defined]
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
        if team in doc.model.teams:  # type: ignore[attr-defined]
            return doc.source.error(("teams", team), message, at_key=True)
    return SpecError(str(specs.root), 1, 1, message)


def _check_teams(specs: SpecSet, errors: list[SpecError]) -> set[str]:
    teams: dict[str, LoadedDocument] = {}
    for doc in specs.of_kind(TeamsDoc):
        for name in doc.model.teams:  # type: ignore[attr-defined]
            if name in teams:
                errors.append(
                    doc.source.error(
                        ("teams", name), f"team {name!r} is already defined in {teams[name].source.file}", at_key=True
                    )
                )
            teams.setdefault(name, doc)
        errors += _template_text(doc.source, ("teams",), doc.model.model_dump(by_alias=True)["teams"])  # type: ignore[attr-defined]
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
        text = doc.model.settings.evaluation_interval  # type: ignore[attr-defined]
        if text:
            return parse_duration(text)
    return Settings().evaluation_interval


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
    src, path: tuple, slo: SLOSpec, base: tuple[TierPolicy, ...], interval: Duration, service_labels: dict
) -> list[SpecError]:
    errors: list[SpecError] = []
    window = _check_window(src, path, slo.window, errors)
    sli_errors = _check_sli(src, path + ("sli",), slo)
    errors += sli_errors + _check_grouping(src, path, slo, service_labels, parsed=not sli_errors)
    for name, spec in slo.alerting.items():
        if spec is not None:
            errors += _tier_window_errors(src, path + ("alerting", name), spec, interval)
    errors += _check_slo_labels(src, path, slo)
    known = sorted({tier.name for tier in base} | set(NOTIFY_CLASSES))
    for name in slo.alerting:
        if name not in known:
            errors.append(
                src.error(
                    path + ("alerting", name),
                    f"unknown tier {name!r}{did_you_mean(name, known)}; expected one of {', '.join(known)}",
                    at_key=True,
                )
            )
    if window is None:
        return errors
    for tier in slo_tiers(base, slo):
        if not tier.enabled:
            continue
        key = next((k for k in (tier.name, tier.notify) if k in slo.alerting), None)
        where = path + ("alerting", key) if key else path + ("window",)
        if tier.long_window >= window:
            errors.append(
                src.error(
                    where,
                    f"tier {tier.name!r}: long window {tier.long_window} must be shorter than the SLO window {slo.window} (shorten it, or disable the tier under alerting:)",
                )
            )
        if tier.short_window >= tier.long_window:
            errors.append(
                src.error(
                    where,
                    f"tier {tier.name!r}: short window {tier.short_window} must be shorter than its long window {tier.long_window}",
                )
            )
    return errors


def _check_grouping(src, path: tuple, slo: SLOSpec, service_labels: dict, parsed: bool) -> list[SpecError]:
    """Grouping labels are new, free names; every query keeps them (or, ungrouped, has no `by`)."""
    taken = {label: "the service" for label in service_labels} | {label: "this SLO" for label in slo.labels}
    for name, spec in slo.alerting.items():
        taken |= {label: f"this SLO's tier {name}" for label in (spec.labels or {} if spec else {})}
    errors = grouping_label_errors(src, path, slo.grouping, taken, RESERVED_LABELS)
    if slo.max_groups is not None and not slo.grouping:
        errors.append(src.error(path + ("max_groups",), "max_groups counts groups: it needs `grouping` beside it"))
    if not parsed:
        return errors  # the queries' own errors come first
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


def _check_window(src, path: tuple, text: str, errors: list[SpecError]):
    where = path + ("window",)
    try:
        window = parse_duration(text)
    except DurationError:
        errors.append(
            src.error(
                where,
                f"window {text!r} is not a duration; expected Nd or Nw between {MIN_WINDOW_DAYS}d and {MAX_WINDOW_DAYS}d, e.g. 30d",
            )
        )
        return None
    if not text[:-1].isdigit() or text[-1] not in "dw":
        errors.append(src.error(where, f"window {text!r} must be whole days or weeks (Nd or Nw), e.g. 28d or 4w"))
        return None
    days = window.seconds / 86400
    if not MIN_WINDOW_DAYS <= days <= MAX_WINDOW_DAYS:
        errors.append(
            src.error(
                where, f"window {text!r} is {days:g} days; expected between {MIN_WINDOW_DAYS}d and {MAX_WINDOW_DAYS}d"
            )
        )
        return None
    return window


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
