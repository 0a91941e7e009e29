"""YAML documents with the line and column of every node: the one reader of every YAML input.

PyYAML's composer keeps marks on nodes; we build plain Python values from the
node tree ourselves and record, for each path into a document, where its key
and its value start. Pydantic error locations are then mapped back to marks.

Specs, drafts, the Alertmanager base config, `--policy` and simulate scenarios
are all read here, so every one of them is bounded the same way: file size,
nesting depth, scalar length and aliases are checked on the parser's event
stream (no recursion, no expansion) before any node tree or Python value is
built. A hostile file fails fast with file:line:col instead of hanging.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.spec.errors import SpecError

PathKey = tuple[str | int, ...]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Bounds of every YAML input (docs/spec-validation.md). Far above any real spec,
# far below what would make a render slow: each is checked before building values.
MAX_FILE_BYTES = 1 << 20  # 1 MiB
MAX_DEPTH = 64  # nested mappings and lists
MAX_SCALAR_CHARS = 64 * 1024  # one string
MAX_ALIASES = 100  # `*name` references per document
MAX_NODES = 50_000  # values, lists and mappings per file, aliases expanded (real specs: a few hundred)
MAX_DOCUMENTS = 1_000  # `---` separated documents per file


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
        return self._scalar(node)

    def _scalar(self, node: ScalarNode) -> object:
        """The scalar's value; a number Python refuses (5000 digits) is a marked error, not a traceback."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # a ConstructorError is neither: it passes through
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value[:20]!r}...: {exc}", node.start_mark
            ) from None

    def _mapping(self, node: MappingNode, path: PathKey) -> dict:
        self.constructor.flatten_mapping(node)  # resolves `<<:` merge keys
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                line, column = _mark(key_node)
                self.errors.append(SpecError(self.document.file, line, column, "a mapping key must be a plain scalar"))
                continue
            key = self._scalar(key_node)
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


def read_text(path: Path, display: str) -> tuple[str | None, SpecError | None]:
    """The file's text, or why it cannot be read: never raises for a bad file.

    Only regular files are read (a FIFO or device would block or never end),
    and never more than MAX_FILE_BYTES.
    """
    try:
        mode = path.stat().st_mode  # checked before opening: opening a FIFO blocks
        if not stat.S_ISREG(mode):
            what = "is a directory" if stat.S_ISDIR(mode) else "is not a regular file"
            return None, SpecError(display, 1, 1, f"{what}; expected a YAML file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        dangling = path.is_symlink()
        return None, SpecError(
            display, 1, 1, "dangling symbolic link; its target does not exist" if dangling else "file does not exist"
        )
    except OSError as exc:
        return None, SpecError(display, 1, 1, f"cannot read the file: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        return None, SpecError(display, 1, 1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB; split it up")
    return _decode(raw, display)


def _bounds_error(text: str, display: str) -> SpecError | None:
    """The first bound the text breaks, read from parser events (flat, nothing expanded)."""
    depth = documents = aliases = nodes = 0
    anchor_sizes: dict[str, int] = {}  # anchor -> nodes of its subtree, aliases expanded
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, nodes so far) of unfinished collections

    def error(event, message: str) -> SpecError:
        return SpecError(display, event.start_mark.line + 1, event.start_mark.column + 1, message)

    def add(count: int) -> None:
        """`count` more nodes in the file and in the innermost open collection."""
        nonlocal nodes
        nodes += count
        if open_nodes:
            anchor, size = open_nodes[-1]
            open_nodes[-1] = (anchor, size + count)

    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > MAX_DOCUMENTS:
                return error(event, f"more than {MAX_DOCUMENTS} YAML documents in one file; split it up")
            aliases = 0
            anchor_sizes.clear()
        elif isinstance(event, AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                return error(event, f"more than {MAX_ALIASES} aliases (*name) in one document")
            if event.anchor in {anchor for anchor, _ in open_nodes}:
                return error(event, f"alias *{event.anchor} refers to a node that contains it (a cycle)")
            add(anchor_sizes.get(event.anchor or "", 1))  # an alias always names its anchor
        elif isinstance(event, ScalarEvent):
            if len(event.value) > MAX_SCALAR_CHARS:
                return error(event, f"a value longer than {MAX_SCALAR_CHARS} characters")
            if event.anchor:
                anchor_sizes[event.anchor] = 1
            add(1)
        elif isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return error(event, f"nested deeper than {MAX_DEPTH} levels")
            add(1)
            open_nodes.append((event.anchor, 1))
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            anchor, size = open_nodes.pop()
            if anchor:
                anchor_sizes[anchor] = size
            if open_nodes:  # the parent's subtree grows; the file's count already has these nodes
                parent_anchor, parent_size = open_nodes[-1]
                open_nodes[-1] = (parent_anchor, parent_size + size - 1)
        if nodes > MAX_NODES:
            return error(
                event, f"more than {MAX_NODES} values, lists and mappings in one file, aliases expanded; split it up"
            )
    return None


def _yaml_error(exc: yaml.MarkedYAMLError, text: str, display: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    if "\t" in text and "tab" in str(problem).lower() or "found character '\\t'" in str(problem):
        problem = f"{problem} (YAML indentation must use spaces, not tabs)"
    return SpecError(display, line, column, f"invalid YAML: {problem}")


def read_documents(path: Path, display: str) -> tuple[list[Document], list[SpecError]]:
    """All documents of one YAML file; never raises for bad content or an unreadable file."""
    text, read_error = read_text(path, display)
    if read_error:
        return [], [read_error]
    assert text is not None
    return parse_documents(text, display)


def parse_documents(text: str, display: str) -> tuple[list[Document], list[SpecError]]:
    """All documents of YAML text read by `read_text`, within the bounds above."""
    errors: list[SpecError] = []
    documents: list[Document] = []
    try:
        bounds_error = _bounds_error(text, display)
        if bounds_error:
            return [], [bounds_error]
        for index, node in enumerate(yaml.compose_all(text, Loader=_LOADER)):
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
        errors.append(_yaml_error(exc, text, display))
    if not documents and not errors:
        errors.append(
            SpecError(
                display, 1, 1, "file has no YAML documents; expected a document with apiVersion: sloforge/v1 and a kind"
            )
        )
    return documents, errors
