"""YAML documents with the line and column of every node.

PyYAML's composer keeps marks on nodes; we build plain Python values from the
node tree ourselves and record, for each path into a document, where its key
and its value start. Pydantic error locations are then mapped back to marks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.spec.errors import SpecError

PathKey = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document: plain data plus positions by path."""

    file: str
    index: int
    data: object
    value_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def error(self, path: PathKey, message: str, *, at_key: bool = False) -> SpecError:
        line, column = self.locate(path, at_key=at_key)
        return SpecError(self.file, line, column, message)

    def locate(self, path: PathKey, *, at_key: bool = False) -> tuple[int, int]:
        """Mark of the deepest known node on `path` (the key, if asked and known)."""
        if at_key and path in self.key_marks:
            return self.key_marks[path]
        for end in range(len(path), -1, -1):
            prefix = tuple(path[:end])
            if prefix in self.value_marks:
                return self.value_marks[prefix]
        return (1, 1)


def _mark(node: Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node tree into Python values, recording marks."""

    def __init__(self, document: Document, errors: list[SpecError]):
        self.document = document
        self.errors = errors
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: Node, path: PathKey) -> object:
        self.document.value_marks[path] = _mark(node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.constructor.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict:
        self.constructor.flatten_mapping(node)  # resolves `<<:` merge keys
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                line, column = _mark(key_node)
                self.errors.append(SpecError(self.document.file, line, column, "a mapping key must be a plain scalar"))
                continue
            key = self.constructor.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                line, column = _mark(key_node)
                first_line, _ = self.document.key_marks[path + (key,)]
                self.errors.append(
                    SpecError(
                        self.document.file,
                        line,
                        column,
                        f"duplicate key {key!r} (first defined on line {first_line}); each key may appear once",
                    )
                )
                continue
            self.document.key_marks[path + (key,)] = _mark(key_node)
            result[key] = self.build(value_node, path + (key,))
        return result


def _decode(raw: bytes, display: str) -> tuple[str | None, SpecError | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, SpecError(
            display, line, column, f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8"
        )


def read_documents(path: Path, display: str) -> tuple[list[Document], list[SpecError]]:
    """All documents of one YAML file; never raises for bad content."""
    errors: list[SpecError] = []
    text, decode_error = _decode(path.read_bytes(), display)
    if decode_error:
        return [], [decode_error]
    assert text is not None
    documents: list[Document] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))):
            if node is None:
                continue
            document = Document(display, index, None)
            builder = _Builder(document, errors)
            try:
                document.data = builder.build(node, ())
            except yaml.constructor.ConstructorError as exc:
                mark = exc.problem_mark or exc.context_mark
                line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                errors.append(SpecError(display, line, column, str(exc.problem or exc)))
                continue
            documents.append(document)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        if "\t" in text and "tab" in str(problem).lower() or "found character '\\t'" in str(problem):
            problem = f"{problem} (YAML indentation must use spaces, not tabs)"
        errors.append(SpecError(display, line, column, f"invalid YAML: {problem}"))
    if not documents and not errors:
        errors.append(
            SpecError(
                display, 1, 1, "file has no YAML documents; expected a document with apiVersion: sloforge/v1 and a kind"
            )
        )
    return documents, errors
