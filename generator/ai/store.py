"""Draft files on disk: read with line numbers, written atomically and deterministically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.ai.schema import DRAFTS_KIND, AlertText, DraftEntry, DraftsDoc, RunbookText
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.load import did_you_mean, display_name
from generator.spec.schema import API_VERSION
from generator.spec.yaml_source import Document, read_documents
from generator.targets.yaml_text import dump_yaml

DRAFTS_DIR = "drafts"
HEADER = (
    "Drafted by `sloforge draft`: AI-written text for alert annotations and runbooks of service {service}.\n"
    "Review every entry: edit the text freely, then set `reviewed: true`.\n"
    "`sloforge check` lists unreviewed and stale entries (stale: the SLO changed since the text was drafted);\n"
    "`sloforge draft` never overwrites a reviewed or edited entry unless given --force."
)


def drafts_dir(specs: Path) -> Path:
    return specs / DRAFTS_DIR


def draft_path(specs: Path, service: str) -> Path:
    return drafts_dir(specs) / f"{service}.yaml"


def draft_files(specs: Path) -> list[Path]:
    """Draft files to read; a dangling link is kept (reading it says so), an unlistable folder is an error."""
    folder = drafts_dir(specs)
    if not folder.is_dir():
        return []
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise SpecErrors(
            [SpecError(display_name(folder, specs), 1, 1, f"cannot list this folder: {exc.strerror or exc}")]
        ) from None
    return [folder / name for name in names if Path(name).suffix in (".yaml", ".yml") and not (folder / name).is_dir()]


@dataclass
class DraftFile:
    path: Path
    source: Document  # positions for error messages
    doc: DraftsDoc


def read_draft_file(path: Path, specs: Path) -> DraftFile:
    """Parse one draft file; raise SpecErrors (file:line:col) for anything malformed."""
    display = display_name(path, specs)
    documents, errors = read_documents(path, display)
    if errors:
        raise SpecErrors(errors)
    if len(documents) != 1:
        raise SpecErrors([documents[1].error((), "a draft file holds exactly one Drafts document")])
    document = documents[0]
    data = document.data
    if not isinstance(data, dict) or data.get("kind") != DRAFTS_KIND:
        raise SpecErrors([document.error(("kind",), f"expected apiVersion: {API_VERSION} and kind: {DRAFTS_KIND}")])
    try:
        doc = DraftsDoc.model_validate(data)
    except ValidationError as exc:
        raise SpecErrors([_position(document, error) for error in exc.errors(include_url=False)]) from None
    if doc.service != path.stem:
        raise SpecErrors(
            [document.error(("service",), f"drafts of service {doc.service!r} belong in {doc.service}.yaml")]
        )
    return DraftFile(path, document, doc)


def _position(document: Document, error: Mapping[str, Any]) -> SpecError:
    path: list[str | int] = []
    node = document.data
    for part in error["loc"]:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int):
            path.append(part)
            node = node[part] if isinstance(node, dict) else node[part] if part < len(node) else None
        elif isinstance(node, dict) and error["type"] in ("missing", "extra_forbidden") and isinstance(part, str):
            path.append(part)
            break
        else:
            break
    where = ".".join(str(part) for part in path) or "document"
    message = error["msg"][0].lower() + error["msg"][1:]
    if error["type"] == "extra_forbidden":
        known = _known_fields(path)
        hint = did_you_mean(str(path[-1]), known) + (f"; expected one of {', '.join(known)}" if known else "")
        return document.error(tuple(path), f"{where}: unknown field{hint}", at_key=True)
    if error["type"] == "missing":
        return document.error(tuple(path[:-1]), f"{where}: required field is missing")
    return document.error(tuple(path), f"{where}: {message}")


def _known_fields(path: list[str | int]) -> list[str]:
    """Field names allowed where an unknown one was found (for did-you-mean hints)."""
    depth = len(path)
    owner: type[BaseModel] | None = None
    if depth == 1:
        owner = DraftsDoc
    elif depth == 3 and path[0] == "slos":
        owner = DraftEntry
    elif depth == 5 and path[2] == "alerts":
        owner = AlertText
    elif depth == 4 and path[2] == "runbook":
        owner = RunbookText
    if owner is None:
        return []
    return sorted(info.alias or name for name, info in owner.model_fields.items())


def text_hash(entry: DraftEntry) -> str:
    """Hash of an entry's text, to notice when people have edited it."""
    content = {"alerts": entry.model_dump()["alerts"], "runbook": entry.runbook.model_dump()}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_edited(entry: DraftEntry) -> bool:
    """True when people changed the text since it was drafted, or wrote it by hand."""
    return entry.text_hash is None or entry.text_hash != text_hash(entry)


def render_draft_file(doc: DraftsDoc, header: str) -> str:
    slos = {}
    for name in sorted(doc.slos):
        entry = doc.slos[name].model_dump(exclude_none=True)
        if not entry.get("rejected"):
            entry.pop("rejected", None)
        slos[name] = entry
    data = {"apiVersion": API_VERSION, "kind": DRAFTS_KIND, "service": doc.service, "slos": slos}
    return dump_yaml(data, header)


def leading_comment(path: Path) -> str | None:
    """The comment block a file starts with (kept when the file is rewritten)."""
    if not path.is_file():
        return None
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines) if lines else None


def write_draft_file(path: Path, doc: DraftsDoc) -> None:
    """Atomic write: readers see the old file or the new one, never half of one."""
    header = leading_comment(path) or HEADER.format(service=doc.service)
    text = render_draft_file(doc, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
