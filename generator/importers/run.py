"""Read input files, detect each document's format, and run the matching importer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from generator.importers.common import ImportBatch, Position, Skip, sloforge_name
from generator.importers.openslo import import_openslo, is_openslo
from generator.importers.pyrra import API_VERSION as PYRRA_API_VERSION
from generator.importers.pyrra import import_pyrra
from generator.importers.sloth import import_sloth, is_sloth
from generator.spec.errors import SpecError
from generator.spec.yaml_source import Document, read_documents

FORMATS = ("sloth", "openslo", "pyrra")
SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_TEAM = "imported"
NOT_A_SPEC = (
    "sloforge import reads Sloth, OpenSLO or Pyrra SLO specs; "
    "sloforge's rendered output is generated from specs and cannot be imported back"
)


@dataclass
class ImportRun:
    batch: ImportBatch
    ignored: list[str]  # documents that are not SLO specs (other Kubernetes objects), with why
    teams: dict[str, str]  # service -> team


def input_files(paths: list[Path]) -> tuple[list[tuple[Path, str]], list[SpecError]]:
    """(path, display) of every spec file below the arguments, sorted; missing paths are errors."""
    files: list[tuple[Path, str]] = []
    errors: list[SpecError] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            files += [(p, p.as_posix()) for p in found]
        elif path.is_file():
            files.append((path, path.as_posix()))
        else:
            errors.append(SpecError(path.as_posix(), 1, 1, "no such file or directory"))
    return files, errors


def detect(data: object) -> str | None:
    """The format of a document: sloth, openslo, pyrra, or None."""
    if isinstance(data, list) and data and all(is_openslo(item) for item in data):
        return "openslo"
    if not isinstance(data, dict):
        return None
    if is_sloth(data):
        return "sloth"
    if is_openslo(data):
        return "openslo"
    if str(data.get("apiVersion", "")).startswith("pyrra.dev/"):
        return "pyrra"
    return None


def _foreign(document: Document) -> str | SpecError:
    """Why a document is not imported: a note for other Kubernetes objects, an error for the rest."""
    data = document.data
    if isinstance(data, dict) and data.get("apiVersion") == "sloforge/v1":
        return document.error(("apiVersion",), f"this is already a sloforge spec; {NOT_A_SPEC.split('; ')[0]}")
    if isinstance(data, dict) and data.get("kind") == "PrometheusRule":
        return document.error(("kind",), f"this is a PrometheusRule (generated rules), not an SLO spec: {NOT_A_SPEC}")
    if isinstance(data, dict) and "groups" in data:
        return document.error(("groups",), f"this is a Prometheus rule file, not an SLO spec: {NOT_A_SPEC}")
    if isinstance(data, dict) and ("route" in data or "receivers" in data):
        return document.error((), f"this is an Alertmanager configuration, not an SLO spec: {NOT_A_SPEC}")
    if isinstance(data, dict) and ("rule_files" in data or "tests" in data):
        return document.error((), f"this is a promtool rule test or Prometheus config, not an SLO spec: {NOT_A_SPEC}")
    if isinstance(data, dict) and ("panels" in data or "dashboard" in data):
        return document.error((), f"this is a Grafana dashboard, not an SLO spec: {NOT_A_SPEC}")
    api_version = data.get("apiVersion") if isinstance(data, dict) else None
    if isinstance(api_version, str) and not re.fullmatch(r"([a-z0-9.-]+/)?v\d+((alpha|beta)\d*)?", api_version):
        return document.error(
            ("apiVersion",), f"apiVersion {api_version!r} is not a valid Kubernetes or OpenSLO apiVersion"
        )
    if isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str):
        return f"{document.file}:{document.locate(())[0]}: {data['kind']} ({data['apiVersion']}) is not an SLO spec; ignored"
    return document.error(
        (),
        "not a Sloth, OpenSLO or Pyrra document: expected `version: prometheus/v1` or an apiVersion of sloth.slok.dev/v1, openslo/v1, openslo/v1alpha or pyrra.dev/v1alpha1",
    )


def run_import(paths: list[Path], source_format: str | None = None, team: str | None = None) -> ImportRun:
    batch = ImportBatch()
    ignored: list[str] = []
    files, errors = input_files(paths)
    batch.errors += errors
    openslo_documents: list[Document] = []
    for path, display in files:
        try:
            documents, file_errors = read_documents(path, display)
        except OSError as exc:
            batch.errors.append(SpecError(display, 1, 1, f"cannot read: {exc.strerror or exc}"))
            continue
        batch.errors += file_errors
        for document in documents:
            fmt = detect(document.data)
            if fmt is None:
                why = _foreign(document)
                if isinstance(why, SpecError):
                    batch.errors.append(why)
                else:
                    ignored.append(why)
                continue
            if source_format is not None and fmt != source_format:
                batch.errors.append(
                    document.error((), f"this is a {fmt} document, not {source_format} (--from {source_format})")
                )
                continue
            if fmt == "sloth":
                batch.extend(import_sloth(document))
            elif fmt == "pyrra":
                if not isinstance(document.data, dict) or document.data.get("apiVersion") != PYRRA_API_VERSION:
                    batch.errors.append(
                        document.error(("apiVersion",), f"unknown Pyrra apiVersion; expected {PYRRA_API_VERSION}")
                    )
                else:
                    batch.extend(import_pyrra(document))
            else:
                openslo_documents.append(document)
    batch.extend(import_openslo(openslo_documents))
    _sloth_period(batch)
    _drop_duplicates(batch)
    return ImportRun(batch, ignored, _teams(batch, team))


def _sloth_period(batch: ImportBatch) -> None:
    """Sloth takes the SLO window from its run (`--default-slo-period`), shown by the AlertWindows given."""
    periods = sorted(set(batch.sloth_periods))
    if len(periods) != 1:
        return
    for slo in batch.slos:
        if slo.source_format.startswith("Sloth") and slo.slo.get("window") != periods[0]:
            slo.slo["window"] = periods[0]
            slo.approximations.append(f"window {periods[0]} from the AlertWindows sloPeriod (Sloth's default is 30d)")


def _drop_duplicates(batch: ImportBatch) -> None:
    seen: dict[tuple[str, str], Position] = {}
    kept = []
    for slo in batch.slos:
        key = (slo.service, slo.slo["name"])
        if key in seen:
            batch.skips.append(
                Skip(slo.where, slo.name, f"duplicate SLO: {slo.name} already imported from {seen[key]}")
            )
            continue
        seen[key] = slo.where
        kept.append(slo)
    batch.slos = kept


def _teams(batch: ImportBatch, team: str | None) -> dict[str, str]:
    teams: dict[str, str] = {}
    for slo in batch.slos:
        if team is not None:
            teams[slo.service] = sloforge_name(team)
        elif slo.service not in teams or teams[slo.service] == DEFAULT_TEAM and slo.team_hint:
            teams[slo.service] = sloforge_name(slo.team_hint) if slo.team_hint else DEFAULT_TEAM
    return teams
