"""Writing a rendered tree: deterministic, atomic, and comparable (drift check)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

Tree = dict[str, str]  # relative posix path -> file text


def write_tree(tree: Tree, out: Path) -> None:
    """Write `tree` as the whole content of `out`, swapping it in at the end.

    The new tree is written next to `out` and renamed into place, so a failure
    while writing leaves the previous tree untouched.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for relative, text in sorted(tree.items()):
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(retired)
    os.rename(out, retired)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(retired, out)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def read_tree(root: Path) -> Tree:
    if not root.is_dir():
        return {}
    tree: Tree = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                tree[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                tree[path.relative_to(root).as_posix()] = "<binary>"
    return tree


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)  # would be created by a render
    removed: list[str] = field(default_factory=list)  # on disk but no longer rendered
    changed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed)


def compare(expected: Tree, actual: Tree) -> Drift:
    return Drift(
        added=sorted(set(expected) - set(actual)),
        removed=sorted(set(actual) - set(expected)),
        changed=sorted(path for path in set(expected) & set(actual) if expected[path] != actual[path]),
    )
