"""Hold every imported SLO to sloforge's own spec checks before anything is written.

An SLO that sloforge would reject (a PromQL dialect it cannot parse, a tier
window longer than the SLO window, ...) becomes a Skip naming the reason, so
the files written always load, render and validate.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from generator.importers.common import Skip
from generator.importers.run import ImportRun
from generator.model.validate import validate
from generator.spec.errors import SpecErrors
from generator.spec.load import LoadedDocument, SpecSet
from generator.spec.schema import PolicyDoc, ServiceDoc, TeamsDoc
from generator.spec.yaml_source import Document


def _loaded(name: str, model: BaseModel, data: dict) -> LoadedDocument:
    return LoadedDocument(Document(name, 0, data), model)


def reject_unrenderable(result: ImportRun) -> None:
    """Move SLOs that fail sloforge's schema or semantic checks from `slos` to `skips`."""
    batch = result.batch
    policy: list[LoadedDocument] = []
    if batch.policy_tiers:
        tiers = {"apiVersion": "sloforge/v1", "kind": "Policy", "tiers": batch.policy_tiers}
        policy = [_loaded("policy.yaml", PolicyDoc.model_validate(tiers), tiers)]
    kept = []
    for slo in batch.slos:
        team = result.teams[slo.service]
        data: dict[str, object] = {"apiVersion": "sloforge/v1", "kind": "Service", "service": slo.service, "team": team}
        if slo.service_labels:
            data["labels"] = slo.service_labels
        data["slos"] = [slo.slo]
        teams = {"apiVersion": "sloforge/v1", "kind": "Teams", "teams": {team: {}}}
        try:
            documents = [
                _loaded("import", ServiceDoc.model_validate(data), data),
                _loaded("teams", TeamsDoc.model_validate(teams), teams),
                *policy,
            ]
            validate(SpecSet(Path("."), documents))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            batch.skips.append(Skip(slo.where, slo.name, f"sloforge rejects it: {where}: {first['msg']}"))
            continue
        except SpecErrors as exc:
            message = exc.errors[0].message
            batch.skips.append(Skip(slo.where, slo.name, f"sloforge rejects it: {message}"))
            continue
        kept.append(slo)
    batch.slos = kept
