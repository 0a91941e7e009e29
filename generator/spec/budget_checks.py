"""Checks of a Policy's `budget_policy:` that need more than one field (with positions)."""

from __future__ import annotations

from generator.spec.errors import SpecError
from generator.spec.load import SpecSet, did_you_mean
from generator.spec.schema import BudgetStageSpec, PolicyDoc, ServiceDoc
from generator.spec.yaml_source import Document, PathKey


def budget_policy_errors(specs: SpecSet) -> list[SpecError]:
    errors: list[SpecError] = []
    services = sorted(doc.model.service for doc in specs.of_kind(ServiceDoc))
    for doc in specs.of_kind(PolicyDoc)[:1]:
        policy = doc.model.budget_policy
        if policy.stages is not None:
            errors += _stage_list_errors(doc.source, ("budget_policy", "stages"), policy.stages)
        for service, stages in policy.services.items():
            path: PathKey = ("budget_policy", "services", service)
            if service not in services and not ({"Service", "*"} & specs.failed_kinds):
                errors.append(
                    doc.source.error(
                        path, f"no Service named {service!r}{did_you_mean(service, services)}", at_key=True
                    )
                )
            errors += _stage_list_errors(doc.source, path, stages)
    return errors


def _stage_list_errors(src: Document, path: PathKey, stages: list[BudgetStageSpec]) -> list[SpecError]:
    if not stages:
        return [src.error(path, "a budget policy needs at least one stage")]
    errors: list[SpecError] = []
    seen: dict[str, int] = {}
    previous = None
    for index, stage in enumerate(stages):
        at = path + (index,)
        if stage.name in seen:
            errors.append(
                src.error(at + ("name",), f"stage name {stage.name!r} is already used by stage {seen[stage.name]}")
            )
        seen.setdefault(stage.name, index)
        last = index == len(stages) - 1
        if last and stage.min_remaining is not None:
            errors.append(
                src.error(
                    at + ("min_remaining",),
                    "the last stage catches everything below the others: leave out min_remaining",
                )
            )
        if not last and stage.min_remaining is None:
            errors.append(src.error(at, "every stage but the last needs min_remaining (percent of budget remaining)"))
        if stage.min_remaining is not None:
            if not 0 <= stage.min_remaining < 100:
                errors.append(src.error(at + ("min_remaining",), "min_remaining is a percent from 0 to below 100"))
            if previous is not None and stage.min_remaining >= previous:
                errors.append(
                    src.error(
                        at + ("min_remaining",),
                        f"stages go from most to least budget remaining: {stage.min_remaining} must be below {previous}",
                    )
                )
            previous = stage.min_remaining
        if "{{" in stage.action or "}}" in stage.action or "\n" in stage.action:
            errors.append(src.error(at + ("action",), "action is one line of plain text (no '{{', '}}' or newlines)"))
    freezes = [stage.freeze for stage in stages]
    if True in freezes and not all(freezes[freezes.index(True) :]):
        first = freezes.index(True)
        errors.append(
            src.error(
                path + (first, "freeze"),
                f"stage {stages[first].name!r} freezes, so every stage below it (less budget) must freeze too",
            )
        )
    return errors
