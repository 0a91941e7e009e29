"""Drafts meet the model: check the files people edit, attach the text to SLOs, report review state.

No network here: `render` and `check` use this, and they must work offline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from generator.ai import checks
from generator.ai.context import fingerprint
from generator.ai.schema import DraftEntry
from generator.ai.store import (
    DraftFile,
    draft_files,
    draft_path,
    is_edited,
    read_draft_file,
    text_hash,
    write_draft_file,
)
from generator.model.drafted import AlertProse, DraftedProse, Query
from generator.model.slo import SLO, Model
from generator.spec.errors import SpecError, SpecErrors


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
            errors += _check_entry(loaded, name, entry, slo, model)
            issues += _review(loaded, name, entry, slo, model)
    if errors:
        raise SpecErrors(errors)
    return Drafts(files, issues)


def _where(loaded: DraftFile, path: tuple) -> str:
    line, column = loaded.source.locate(path, at_key=True)
    return f"{loaded.source.file}:{line}:{column}"


def _check_entry(loaded: DraftFile, name: str, entry: DraftEntry, slo: SLO, model: Model) -> list[SpecError]:
    """Draft files are untrusted input: the checks `sloforge draft` applies to the model's answer, with positions."""
    base = ("slos", name)
    return [
        loaded.source.error(base + path, message)
        for path, message in checks.check_entry(entry, checks.rules_for(slo, model))
    ]


def trusted(entry: DraftEntry) -> bool:
    """Reviewed, and the text is the text that was reviewed (an edit after review needs a new review)."""
    return entry.reviewed and not is_edited(entry)


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
    mark = f"`sloforge draft --service {slo.service} --slo {slo.name} --mark-reviewed`"
    if not entry.reviewed:
        issues.append(
            ReviewIssue(
                _where(loaded, ("slos", name, "reviewed")),
                "unreviewed",
                f"{slo.key}: not used by render until reviewed; read the drafted text, edit it as needed, "
                f"then run {mark}",
            )
        )
    elif is_edited(entry):
        why = _untrusted_reason(entry)
        issues.append(
            ReviewIssue(
                _where(loaded, ("slos", name, "text_hash" if entry.text_hash else "reviewed")),
                "stale",
                f"{slo.key}: {why}, so render does not use it; read it again, then run {mark}",
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
        reviewed=trusted(entry),
        stale=stale,
        model=entry.model,
        source=source,
    )


def _untrusted_reason(entry: DraftEntry) -> str:
    if not entry.reviewed:
        return "not reviewed"
    if entry.text_hash is None:
        return "reviewed, but no text_hash records which text was reviewed"
    return "edited after review (its text_hash does not match the text)"


def withheld(entry: DraftEntry, source: str) -> DraftedProse:
    """No text, only why: renderers fall back to the skeleton and the runbook says a draft waits for review."""
    return DraftedProse(source=source, withheld=_untrusted_reason(entry), model=entry.model)


def attach_drafts(model: Model, drafts: Drafts, specs: Path, include_unreviewed: bool = False) -> Model:
    """The model with each SLO's drafted prose set (renderers read `slo.drafted`).

    Only trusted entries (reviewed, text unchanged since) lend their text, unless
    `include_unreviewed` (render --include-unreviewed-drafts) asks for the others too.
    """
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
            elif trusted(entry) or include_unreviewed:
                stale = entry.fingerprint != fingerprint(slo, model)
                slos.append(replace(slo, drafted=prose_of(entry, stale, source)))
            else:
                slos.append(replace(slo, drafted=withheld(entry, source)))
        services.append(replace(service, slos=tuple(slos)))
    return replace(model, services=tuple(services))


def _source(path: Path, specs: Path) -> str:
    """Draft file relative to the specs directory's parent, like SLO.source."""
    try:
        return path.resolve().relative_to(specs.resolve().parent).as_posix()
    except ValueError:
        return path.name


def with_drafts(model: Model, specs: Path, include_unreviewed: bool = False) -> Model:
    """Load, check and attach the drafts under SPECS/drafts (raises SpecErrors)."""
    return attach_drafts(model, load_drafts(specs, model), specs, include_unreviewed)


def mark_reviewed(specs: Path, model: Model, slos: list[SLO]) -> list[str]:
    """Record that people reviewed these SLOs' drafts as they are now: `reviewed: true`, the current
    text hash (a later edit makes the entry stale) and the current fingerprint. Returns the keys marked.

    The caller loaded the model with these drafts, so every entry has passed `checks.check_entry`."""
    marked = []
    for service in sorted({slo.service for slo in slos}):
        path = draft_path(specs, service)
        if not path.is_file():
            continue
        doc = read_draft_file(path, specs).doc  # already checked when the model was loaded
        entries = [(slo, doc.slos[slo.name]) for slo in slos if slo.service == service and slo.name in doc.slos]
        for slo, entry in entries:
            entry.reviewed = True
            entry.text_hash = text_hash(entry)
            entry.fingerprint = fingerprint(slo, model)
            marked.append(slo.key)
        if entries:
            write_draft_file(path, doc)
    return marked


def review_issues(specs: Path, model: Model) -> list[ReviewIssue]:
    """Unreviewed, stale and orphaned draft entries (for `check` and `render --require-reviewed`)."""
    return load_drafts(specs, model).issues
