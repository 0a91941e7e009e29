"""Drafts meet the model: check the files people edit, attach the text to SLOs, report review state.

No network here: `render` and `check` use this, and they must work offline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from generator.ai import checks
from generator.ai.context import alert_label_names, fingerprint
from generator.ai.schema import DraftEntry
from generator.ai.store import DraftFile, draft_files, read_draft_file
from generator.model.drafted import AlertProse, DraftedProse, Query
from generator.model.slo import SLO, Model
from generator.spec.errors import SpecError, SpecErrors
from generator.targets.investigation import allowed_metrics


@dataclass(frozen=True)
class ReviewIssue:
    where: str  # file:line:col of the entry
    kind: str  # unreviewed | stale | orphaned
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.message}"


@dataclass
class Drafts:
    files: dict[str, DraftFile]  # by service
    issues: list[ReviewIssue]


def load_drafts(specs: Path, model: Model) -> Drafts:
    """Every draft file under SPECS/drafts, checked against the model; SpecErrors for bad files."""
    errors: list[SpecError] = []
    files: dict[str, DraftFile] = {}
    for path in draft_files(specs):
        try:
            loaded = read_draft_file(path, specs)
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        files[loaded.doc.service] = loaded
    issues: list[ReviewIssue] = []
    slos = {slo.key: slo for slo in model.slos}
    for service, loaded in sorted(files.items()):
        for name, entry in sorted(loaded.doc.slos.items()):
            slo = slos.get(f"{service}/{name}")
            where = _where(loaded, ("slos", name))
            if slo is None:
                issues.append(ReviewIssue(where, "orphaned", f"no SLO {service}/{name} in the specs; delete the entry"))
                continue
            errors += _check_entry(loaded, name, entry, slo)
            issues += _review(loaded, name, entry, slo, model)
    if errors:
        raise SpecErrors(errors)
    return Drafts(files, issues)


def _where(loaded: DraftFile, path: tuple) -> str:
    line, column = loaded.source.locate(path, at_key=True)
    return f"{loaded.source.file}:{line}:{column}"


def _check_entry(loaded: DraftFile, name: str, entry: DraftEntry, slo: SLO) -> list[SpecError]:
    """Text people edited gets the same checks as the model's answer, with positions."""
    base = ("slos", name)
    errors: list[SpecError] = []
    labels = alert_label_names(slo)
    for tier, text in entry.alerts.items():
        for key, check in (("summary", checks.check_summary), ("description", checks.check_description)):
            value = getattr(text, key)
            problem = None if value is None else check(value, labels)
            if problem:
                errors.append(loaded.source.error(base + ("alerts", tier, key), f"{key}: {problem}"))
    for section in checks.RUNBOOK_LISTS:
        for index, item in enumerate(getattr(entry.runbook, section)):
            problem = checks.check_item(item)
            if problem:
                errors.append(loaded.source.error(base + ("runbook", section, index), f"{section}[{index}]: {problem}"))
    metrics = allowed_metrics(slo)
    for index, query in enumerate(entry.runbook.investigation):
        path = base + ("runbook", "investigation", index)
        problem = checks.check_title(query.title)
        if problem:
            errors.append(loaded.source.error(path + ("title",), f"title: {problem}"))
        problem = checks.check_query(query.query, metrics)
        if problem:
            errors.append(loaded.source.error(path + ("query",), f"query: {problem}"))
    return errors


def _review(loaded: DraftFile, name: str, entry: DraftEntry, slo: SLO, model: Model) -> list[ReviewIssue]:
    issues = []
    current = fingerprint(slo, model)
    if entry.fingerprint != current:
        issues.append(
            ReviewIssue(
                _where(loaded, ("slos", name, "fingerprint")),
                "stale",
                f"{slo.key} changed since this text was drafted (fingerprint {entry.fingerprint}, now {current}); "
                f"redraft with `sloforge draft --service {slo.service} --slo {slo.name} --force`, "
                f"or review the text and set `fingerprint: {current}`",
            )
        )
    tiers = {tier.name for tier in slo.tiers}
    for tier in sorted(set(entry.alerts) - tiers):
        issues.append(
            ReviewIssue(
                _where(loaded, ("slos", name, "alerts", tier)),
                "stale",
                f"{slo.key} has no enabled tier {tier!r}; its text is not used",
            )
        )
    if not entry.reviewed:
        issues.append(
            ReviewIssue(
                _where(loaded, ("slos", name, "reviewed")),
                "unreviewed",
                f"{slo.key}: read the drafted text, edit it as needed, then set `reviewed: true`",
            )
        )
    return issues


def prose_of(entry: DraftEntry, stale: bool, source: str) -> DraftedProse:
    return DraftedProse(
        alerts=tuple(AlertProse(tier, text.summary, text.description) for tier, text in sorted(entry.alerts.items())),
        likely_causes=tuple(entry.runbook.likely_causes),
        triage=tuple(entry.runbook.triage),
        mitigation=tuple(entry.runbook.mitigation),
        investigation=tuple(Query(q.title, q.query) for q in entry.runbook.investigation),
        reviewed=entry.reviewed,
        stale=stale,
        model=entry.model,
        source=source,
    )


def attach_drafts(model: Model, drafts: Drafts, specs: Path) -> Model:
    """The model with each SLO's drafted prose set (renderers read `slo.drafted`)."""
    services = []
    for service in model.services:
        loaded = drafts.files.get(service.name)
        if loaded is None:
            services.append(service)
            continue
        source = _source(loaded.path, specs)
        slos = []
        for slo in service.slos:
            entry = loaded.doc.slos.get(slo.name)
            if entry is None:
                slos.append(slo)
                continue
            stale = entry.fingerprint != fingerprint(slo, model)
            slos.append(replace(slo, drafted=prose_of(entry, stale, source)))
        services.append(replace(service, slos=tuple(slos)))
    return replace(model, services=tuple(services))


def _source(path: Path, specs: Path) -> str:
    """Draft file relative to the specs directory's parent, like SLO.source."""
    try:
        return path.resolve().relative_to(specs.resolve().parent).as_posix()
    except ValueError:
        return path.name


def with_drafts(model: Model, specs: Path) -> Model:
    """Load, check and attach the drafts under SPECS/drafts (raises SpecErrors)."""
    return attach_drafts(model, load_drafts(specs, model), specs)


def review_issues(specs: Path, model: Model) -> list[ReviewIssue]:
    """Unreviewed, stale and orphaned draft entries (for `check` and `render --require-reviewed`)."""
    return load_drafts(specs, model).issues
