"""Semantic checks across fields and documents, each error at its YAML node."""

from __future__ import annotations

from decimal import Decimal

from pydantic import ValidationError

from generator.model.durations import DurationError, parse_duration
from generator.model.policy import (
    DEFAULT_TIERS,
    MISSING_NEW_TIER_FIELDS,
    NOTIFY_CLASSES,
    TierPolicy,
    apply_overrides,
)
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.load import LoadedDocument, SpecSet, did_you_mean
from generator.spec.promql import parse_error, substitute_window
from generator.spec.schema import (
    WINDOW_PLACEHOLDER,
    PolicyDoc,
    ServiceDoc,
    SLOSpec,
    TeamsDoc,
)

MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 90
RESERVED_LABELS = {"slo_service", "slo_name", "slo_window", "slo_tier", "severity", "team", "alertname", "__name__"}


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


def validate(specs: SpecSet) -> None:
    """Raise SpecErrors with every semantic problem of the spec set."""
    errors: list[SpecError] = list(specs.errors)
    policy_errors = _check_policies(specs)
    errors += policy_errors
    base = global_tiers(specs) if not policy_errors else DEFAULT_TIERS
    teams = _check_teams(specs, errors)
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
            if label in RESERVED_LABELS:
                errors.append(
                    src.error(
                        ("labels", label), f"label {label!r} is set by sloforge; choose another name", at_key=True
                    )
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
            errors += _check_slo(src, path, slo, base)
    errors += _check_failed_services(specs, base)
    if errors:
        raise SpecErrors(errors)


def _check_failed_services(specs: SpecSet, base: tuple[TierPolicy, ...]) -> list[SpecError]:
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
            errors += _check_slo(src, ("slos", index), slo, base)
    return errors


def _check_policies(specs: SpecSet) -> list[SpecError]:
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
    return set(teams)


def _check_slo(src, path: tuple, slo: SLOSpec, base: tuple[TierPolicy, ...]) -> list[SpecError]:
    errors: list[SpecError] = []
    window = _check_window(src, path, slo.window, errors)
    errors += _check_sli(src, path + ("sli",), slo)
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
        if label in reserved:
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
        if not errors and "(" in sli.bool_gauge.metric:
            errors.append(
                src.error(
                    path + ("bool_gauge", "metric"),
                    'expected a series selector such as probe_success{job="blackbox"}, not an expression',
                )
            )
    elif sli.latency:
        latency = sli.latency
        selector = latency.selector.strip()
        if selector and not (selector.startswith("{") and selector.endswith("}")):
            errors.append(
                src.error(
                    path + ("latency", "selector"),
                    "selector must be label matchers in braces, e.g. '{job=\"checkout\"}'",
                )
            )
        else:
            problem = parse_error(f"{latency.histogram}_bucket{selector}")
            if problem:
                errors.append(src.error(path + ("latency", "selector"), f"selector does not parse: {problem}"))
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
