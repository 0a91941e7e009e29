"""Validated spec documents -> the normalized, immutable Model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.model.budget_policy import DEFAULT_STAGES, BudgetStage
from generator.model.low_traffic import counts_events
from generator.model.policy import global_tiers, resolve_tier, slo_tiers
from generator.model.slo import (
    SLI,
    SLO,
    BoolGaugeSLI,
    EventsSLI,
    LatencySLI,
    Model,
    RawSLI,
    Receiver,
    Service,
    Settings,
    Team,
)
from generator.spec.load import LoadedDocument, SpecSet
from generator.spec.schema import RECEIVER_TYPES, BudgetStageSpec, PolicyDoc, ServiceDoc, SLOSpec, TeamsDoc, TeamSpec
from generator.units.durations import parse_duration
from generator.units.numbers import to_decimal


def build_model(specs: SpecSet, settings_override: dict[str, str] | None = None) -> Model:
    """Assumes `model.validate` passed; ordering is by name so output is stable."""
    base_tiers = global_tiers(specs)
    budget = _budget_policy(specs)
    services = []
    for doc in specs.of_kind(ServiceDoc):
        spec: ServiceDoc = doc.model
        source = _source(doc.source.file, specs.root)
        labels = tuple(sorted(spec.labels.items()))
        by_name = sorted(enumerate(spec.slos), key=lambda item: item[1].name)
        slos = tuple(
            _build_slo(
                spec,
                slo,
                base_tiers,
                labels,
                source,
                budget.get(spec.service, budget[""]),
                _where(doc, ("slos", index)),
            )
            for index, slo in by_name
        )
        where = _where(doc, ("service",))
        services.append(Service(spec.service, spec.team, spec.description, labels, slos, source, where))
    teams = []
    for teams_doc in specs.of_kind(TeamsDoc):
        for name, team in teams_doc.model.teams.items():
            team_where = _where(teams_doc, ("teams", name))
            teams.append(_build_team(name, team, _source(teams_doc.source.file, specs.root), team_where))
    return Model(
        services=tuple(sorted(services, key=lambda s: s.name)),
        teams=tuple(sorted(teams, key=lambda t: t.name)),
        settings=_settings(specs, settings_override or {}),
    )


def _source(file: str, root: Path) -> str:
    """Spec file relative to the specs root's parent, e.g. slo_specs/checkout.yaml."""
    path = Path(file)
    try:
        return path.resolve().relative_to(root.resolve().parent).as_posix()
    except ValueError:
        return path.name


def _where(doc: LoadedDocument, path: tuple) -> str:
    """`file:line:col` of a spec entry, with the file as errors show it (relative to the working directory)."""
    line, column = doc.source.locate(path, at_key=True)
    return f"{doc.source.file}:{line}:{column}"


def _build_slo(
    service: ServiceDoc,
    slo: SLOSpec,
    base_tiers,
    labels,
    source: str,
    stages: tuple[BudgetStage, ...],
    where: str = "",
) -> SLO:
    window = parse_duration(slo.window)
    objective = to_decimal(slo.objective)
    budget = 1 - objective / 100
    sli = _build_sli(slo)
    tiers = tuple(
        resolve_tier(tier, window, budget, slo.expected_rate, sli)
        for tier in slo_tiers(base_tiers, slo)
        if tier.enabled
    )
    return SLO(
        service=service.service,
        name=slo.name,
        description=slo.description or service.description,
        objective=objective,
        window=window,
        sli=sli,
        tiers=tiers,
        team=service.team,
        labels=tuple(sorted({**dict(labels), **slo.labels}.items())),
        expected_rate=slo.expected_rate,
        min_total_events=slo.min_total_events if counts_events(sli) else 0,
        source=source,
        where=where,
        budget_stages=stages,
        info_labels=tuple(sorted(slo.labels.items())),
        annotations=tuple(sorted(slo.annotations.items())),
        grouping=tuple(slo.grouping),
        max_groups=slo.max_groups,
    )


def _budget_policy(specs: SpecSet) -> dict[str, tuple[BudgetStage, ...]]:
    """Stages per service name; "" holds the stages of every other service."""
    result: dict[str, tuple[BudgetStage, ...]] = {"": DEFAULT_STAGES}
    for doc in specs.of_kind(PolicyDoc)[:1]:
        policy = doc.model.budget_policy
        if policy.stages is not None:
            result[""] = _stages(policy.stages)
        result.update({service: _stages(stages) for service, stages in policy.services.items()})
    return result


def _stages(specs: list[BudgetStageSpec]) -> tuple[BudgetStage, ...]:
    return tuple(
        BudgetStage(
            name=stage.name,
            min_remaining=None if stage.min_remaining is None else to_decimal(stage.min_remaining) / 100,
            action=stage.action,
            review=parse_duration(stage.review),
            freeze=stage.freeze,
        )
        for stage in specs
    )


def _build_sli(slo: SLOSpec) -> SLI:
    sli = slo.sli
    if sli.events:
        return EventsSLI(total=sli.events.total.strip(), errors=_strip(sli.events.errors), good=_strip(sli.events.good))
    if sli.latency:
        selector = sli.latency.selector.strip().removeprefix("{").removesuffix("}").strip()
        buckets = tuple(str(b) for b in sli.latency.buckets or ())
        return LatencySLI(sli.latency.histogram, selector, parse_duration(sli.latency.threshold), buckets)
    if sli.raw:
        return RawSLI(sli.raw.error_ratio.strip())
    assert sli.bool_gauge is not None
    return BoolGaugeSLI(sli.bool_gauge.metric.strip())


def _strip(query: str | None) -> str | None:
    return None if query is None else query.strip()


def _build_team(name: str, team: TeamSpec, source: str, where: str = "") -> Team:
    receivers = []
    for notify in ("page", "ticket", "info"):
        spec = getattr(team, notify)
        if spec is None:
            continue
        found = []
        for kind in RECEIVER_TYPES:
            config = getattr(spec, kind)
            if config is not None:
                fields = config.model_dump(by_alias=True, exclude_none=True)
                found.append(Receiver(kind, tuple(sorted(fields.items()))))
        receivers.append((notify, tuple(found)))
    return Team(
        name=name,
        receivers=tuple(receivers),
        business_hours=team.business_hours,
        repeat_interval=tuple(sorted(team.repeat_interval.items())),
        group_interval=tuple(sorted(team.group_interval.items())),
        source=source,
        where=where,
    )


def _settings(specs: SpecSet, override: dict[str, str]) -> Settings:
    values: dict[str, Any] = {}  # Settings' fields by name, each of its field's type
    for doc in specs.of_kind(PolicyDoc):
        values.update(doc.model.settings.model_dump(exclude_none=True))
    values.update(_deploy_settings(values.pop("deploy", None) or {}))
    values.update({k: v for k, v in override.items() if v is not None})
    if isinstance(values.get("allow_silent_pages"), list):
        values["allow_silent_pages"] = tuple(values["allow_silent_pages"])
    for key in ("evaluation_interval", "missing_sli_for"):
        if key in values:
            values[key] = parse_duration(str(values[key]))
    return Settings(**values)


def _deploy_settings(deploy: dict) -> dict[str, object]:
    """The Policy's nested `deploy:` block as flat Settings fields."""
    operator, thanos = deploy.get("operator", {}), deploy.get("thanos", {})
    return {
        "deploy_formats": tuple(dict.fromkeys(deploy.get("formats", ()))),
        "operator_namespace": operator.get("namespace") or "",
        "operator_labels": tuple(sorted(operator.get("labels", {}).items())),
        "thanos_partial_response_strategy": thanos.get("partial_response_strategy") or "",
    }
