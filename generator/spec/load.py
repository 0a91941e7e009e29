"""Read a specs directory into validated documents, collecting every error."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError

from generator.spec import schema
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.yaml_source import Document, read_documents

SPEC_SUFFIXES = (".yaml", ".yml")
# Folders under the specs directory that hold other inputs than spec documents.
NOT_SPECS = ("drafts",)
# Files that sit beside the specs but are not spec documents.
NOT_SPEC_FILES = ("alertmanager.base.yml", "alertmanager.base.yaml")


M = TypeVar("M", bound=BaseModel)


@dataclass
class LoadedDocument(Generic[M]):
    source: Document
    model: M


@dataclass
class SpecSet:
    root: Path
    documents: list[LoadedDocument[BaseModel]]
    errors: list[SpecError] = field(default_factory=list)  # schema errors, reported with semantic ones
    failed_kinds: set[str] = field(default_factory=set)  # kinds with a document that did not validate
    failed: list[Document] = field(default_factory=list)  # mappings that did not validate, for partial checks

    def of_kind(self, kind: type[M]) -> list[LoadedDocument[M]]:
        """The documents of one kind, typed as that kind (`doc.model.teams` on Teams documents checks)."""
        return cast("list[LoadedDocument[M]]", [doc for doc in self.documents if isinstance(doc.model, kind)])


def spec_files(root: Path) -> tuple[list[Path], list[SpecError]]:
    """Every *.yaml/*.yml spec under `root`, and the folders that could not be listed.

    A folder sloforge cannot read would otherwise drop its services' alerts
    without a word, so it is an error; so is a spec path that is not a regular
    file (a dangling link is reported when the file is read).
    """
    files: list[Path] = []
    errors: list[SpecError] = []

    def unreadable(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else root
        errors.append(SpecError(display_name(folder, root), 1, 1, f"cannot list this folder: {exc.strerror or exc}"))

    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        here = Path(folder)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith(".") and name not in NOT_SPECS)
        files.extend(here / name for name in names if Path(name).suffix in SPEC_SUFFIXES and name not in NOT_SPEC_FILES)
    return sorted(files, key=lambda path: path.relative_to(root).as_posix()), errors


def display_name(path: Path, root: Path) -> str:
    """How every message shows a path: relative to the working directory when under it, else absolute.

    The last link is not followed, so a dangling link is named, not its missing target.
    """
    shown = Path(os.path.abspath(path))
    try:
        return shown.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return shown.as_posix()


def load_specs(root: Path, extra_files: tuple[Path, ...] = ()) -> SpecSet:
    """Every document under `root` checked against the schema.

    Raises SpecErrors only when nothing can be checked further (no directory,
    no files); other schema errors travel in `SpecSet.errors` so `validate`
    reports them together with the semantic ones.
    """
    errors: list[SpecError] = []
    if not root.is_dir():
        raise SpecErrors([SpecError(str(root), 1, 1, "specs directory does not exist")])
    found, folder_errors = spec_files(root)
    files = found + list(extra_files)
    if not files and not folder_errors:
        errors.append(SpecError(str(root), 1, 1, "no *.yaml spec files found; expected Service and Teams documents"))
    if errors:
        raise SpecErrors(errors)
    spec_set = SpecSet(root, [], errors=folder_errors)
    if folder_errors:
        spec_set.failed_kinds.add("*")  # an unlisted folder may hold any kind
    for path in files:
        documents, file_errors = read_documents(path, display_name(path, root))
        spec_set.errors.extend(file_errors)
        if file_errors:
            spec_set.failed_kinds.add("*")  # unreadable file: its kind is unknown
        for document in documents:
            model = _validate_document(document, spec_set.errors)
            if model is not None:
                spec_set.documents.append(LoadedDocument(document, model))
            elif isinstance(document.data, dict):
                spec_set.failed_kinds.add(str(document.data.get("kind")))
                spec_set.failed.append(document)
    return spec_set


def _validate_document(document: Document, errors: list[SpecError]) -> BaseModel | None:
    data = document.data
    if not isinstance(data, dict):
        errors.append(document.error((), f"a spec document must be a mapping, got {_kind_of(data)}"))
        return None
    api_version, kind = data.get("apiVersion"), data.get("kind")
    model_class = None
    if isinstance(api_version, str) and isinstance(kind, str):
        model_class = schema.DOCUMENT_KINDS.get((api_version, kind))
    if model_class is None:
        errors.append(_unknown_kind(document, api_version, kind))
        return None
    try:
        return model_class.model_validate(data)
    except ValidationError as exc:
        errors.extend(_translate(document, model_class, exc))
        return None


def _unknown_kind(document: Document, api_version: object, kind: object) -> SpecError:
    if api_version is None:
        return document.error((), f"missing apiVersion; expected apiVersion: {schema.API_VERSION}")
    if api_version != schema.API_VERSION:
        return document.error(("apiVersion",), f"unknown apiVersion {api_version!r}; expected {schema.API_VERSION}")
    kinds = sorted(k for v, k in schema.DOCUMENT_KINDS if v == api_version)
    if kind is None:
        return document.error((), f"missing kind; expected one of {', '.join(kinds)}")
    return document.error(
        ("kind",), f"unknown kind {kind!r}; expected one of {', '.join(kinds)}{did_you_mean(str(kind), kinds)}"
    )


def _translate(document: Document, model_class: type[BaseModel], exc: ValidationError) -> list[SpecError]:
    """Pydantic errors -> file:line:col messages in the spec's own words."""
    result = []
    for error in exc.errors(include_url=False):
        path = _spec_path(error["loc"], document.data)
        kind = error["type"]
        if kind == "extra_forbidden":
            result.append(document.error(path, _unknown_field(model_class, path), at_key=True))
            continue
        where = ".".join(str(part) for part in path) or "document"
        if kind == "missing":
            parent = path[:-1]
            if _literal_secret_given(document.data, path):
                continue  # the literal-secret error already says to use this field
            result.append(document.error(parent, f"{where}: required field {path[-1]!r} is missing"))
            continue
        message = _message(error)
        result.append(document.error(path, f"{where}: {message}"))
    return result


def _spec_path(loc: tuple, data: object) -> tuple:
    """Drop pydantic's union-branch names so the location is a path into the YAML."""
    path: list = []
    node = data
    for part in loc:
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and part.startswith("function-") or part in ("[key]",):
            continue
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and not any(c in part for c in "[]-")
            and part not in _BRANCH_NAMES
        ):
            path.append(part)  # a missing or extra key
            node = None
    return tuple(path)


_BRANCH_NAMES = {"str", "int", "float", "decimal", "bool", "none", "dict", "list", "constrained-str"}


# What the schema's patterns accept, in words, for the errors that show them.
PATTERN_HINTS = {
    schema.NAME_PATTERN: "lowercase letters, digits and dashes",
    schema.LABEL_NAME_PATTERN: "letters, digits and underscores, not starting with a digit",
    schema.METRIC_NAME_PATTERN: "letters, digits, underscores and colons, not starting with a digit",
}


def pattern_hint(pattern: str) -> str:
    hint = PATTERN_HINTS.get(pattern)
    return f" ({hint})" if hint else ""


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"{error.get('input')!r} does not match {pattern}{pattern_hint(pattern)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_kind_of(error.get('input'))}"
    if kind == "list_type":
        return f"expected a list, got {_kind_of(error.get('input'))}"
    if kind == "literal_error":
        return f"{message[0].lower()}{message[1:]}, got {error.get('input')!r}"
    return message[0].lower() + message[1:] if message else kind


def _unknown_field(model_class: type[BaseModel], path: tuple) -> str:
    field = str(path[-1])
    owner = _model_at(model_class, path[:-1])
    if field in schema.SECRET_FIELDS and owner is not None and field not in owner.model_fields:
        return (
            f"{field!r} would put a secret into the spec; reference a file instead with "
            f"{schema.SECRET_FIELDS[field]!r} (secrets are never rendered)"
        )
    known = sorted((info.alias or name) for name, info in owner.model_fields.items()) if owner else []
    return f"unknown field {field!r}{did_you_mean(field, known)}" + (
        f"; expected one of {', '.join(known)}" if known else ""
    )


def _literal_secret_given(data: object, path: tuple) -> bool:
    field = str(path[-1]) if path else ""
    if not field.endswith("_file"):
        return False
    node = data
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else node[part] if isinstance(node, list) else None
    return isinstance(node, dict) and field.removesuffix("_file") in node


def _model_at(model_class: type[BaseModel], path: tuple) -> type[BaseModel] | None:
    """Walk model annotations along a data path to find the model owning a field."""
    import typing

    current: object = model_class
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            # a dict value keyed by a user name (teams, alerting tiers)
            continue
        current = _inner_model(field.annotation, typing)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: object, typing) -> object:
    for arg in typing.get_args(annotation) or ():
        inner = _inner_model(arg, typing)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind_of(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )
