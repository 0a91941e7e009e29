"""Writing a rendered tree into an output directory sloforge owns, and reading it back (drift check).

The rules for which directories sloforge may write into live in
output_guard.py, the in-place atomic update in output_sync.py;
docs/output-dir.md is the user-facing contract.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from generator.output_guard import MARKER, TEMP_PREFIX, Protected, UnsafeOutDir, ensure_safe_out
from generator.output_sync import OPEN_DIR, LockBusy, marker_lock, sync_tree

Tree = dict[str, str]  # relative posix path -> file text
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds a render waits for another one writing the same directory

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "MARKER",
    "Drift",
    "LockBusy",
    "Tree",
    "TreeError",
    "UnsafeOutDir",
    "compare",
    "ensure_safe_out",
    "read_tree",
    "write_tree",
]


class TreeError(ValueError):
    """A renderer produced a path that cannot be written safely (a bug, not bad input)."""


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)  # would be created by a render
    removed: list[str] = field(default_factory=list)  # on disk but no longer rendered
    changed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed)


def write_tree(
    tree: Tree,
    out: Path,
    *,
    protected: Protected = (),
    force: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Drift:
    """Make `out` hold exactly `tree` plus the marker, updating files in place; returns what changed.

    Raises UnsafeOutDir (a directory sloforge must not write into), LockBusy
    (another render kept the lock for `lock_timeout` seconds), TreeError, or
    OSError. Whatever happens, every file is either its old or its new version.
    """
    files = _encoded(tree)
    ensure_safe_out(out, protected, force)
    out.mkdir(parents=True, exist_ok=True)
    root_fd = os.open(out, OPEN_DIR)
    try:
        with marker_lock(root_fd, out, force, lock_timeout):
            changes = sync_tree(root_fd, out, files)
    finally:
        os.close(root_fd)
    return Drift(added=changes.added, removed=changes.removed, changed=changes.changed)


def _encoded(tree: Tree) -> dict[str, bytes]:
    """Check every path before anything is written: relative, no `..`, not reserved, no file/folder clash."""
    directories: set[str] = set()
    for path in tree:
        parts = path.split("/")
        if path.startswith("/") or any(part in ("", ".", "..") or "\0" in part for part in parts):
            raise TreeError(f"a renderer produced the unsafe path {path!r}")
        if parts[0] == MARKER or parts[-1].startswith(TEMP_PREFIX):
            raise TreeError(f"a renderer produced {path!r}, a name sloforge reserves for itself")
        directories.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    clash = sorted(directories & set(tree))
    if clash:
        raise TreeError(f"{clash[0]} would be both a file and a directory")
    return {path: text.encode("utf-8") for path, text in tree.items()}


def read_tree(root: Path) -> Tree:
    """The files under `root` (without the marker), never following a symlink inside it.

    A symlink or special file shows up as a placeholder text, so the drift
    check reports it instead of reading whatever it points to.
    """
    if not root.is_dir():
        return {}
    tree: Tree = {}
    for directory, subdirectories, names in os.walk(root):  # does not descend into symlinked directories
        base = Path(directory)
        for name in names + [sub for sub in subdirectories if (base / sub).is_symlink()]:
            relative = (base / name).relative_to(root).as_posix()
            if relative != MARKER:
                tree[relative] = _entry_text(base / name)
    return dict(sorted(tree.items()))


def _entry_text(path: Path) -> str:
    if path.is_symlink():
        return f"<symlink to {os.readlink(path)}>"
    if not path.is_file():
        return "<not a regular file>"
    try:
        return path.read_bytes().decode("utf-8")  # no newline translation: CRLF is drift too
    except UnicodeDecodeError:
        return "<binary>"
    except OSError as exc:
        return f"<unreadable: {exc.strerror or exc}>"


def compare(expected: Tree, actual: Tree) -> Drift:
    return Drift(
        added=sorted(set(expected) - set(actual)),
        removed=sorted(set(actual) - set(expected)),
        changed=sorted(path for path in set(expected) & set(actual) if expected[path] != actual[path]),
    )
