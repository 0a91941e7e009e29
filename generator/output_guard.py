"""Which directories `sloforge render --out` may write into (docs/output-dir.md).

sloforge owns an output directory only when it is empty, does not exist yet,
or carries the marker file sloforge writes there. Every other directory is
refused before anything is rendered; `--force` can only overrule "not empty
and no marker", never a refusal that protects the specs, the home directory,
the current directory, a checkout root or a symlink's target.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

MARKER = ".sloforge"  # at the top of an output directory: "sloforge owns the files here"; also the render lock
MARKER_TEXT = (
    "# Written by sloforge. sloforge owns this directory: files here are replaced on render,\n"
    "# and files it no longer renders are deleted. See docs/output-dir.md.\n"
)
TEMP_PREFIX = ".sloforge-tmp-"  # files being written; a killed render leaves them, the next one deletes them

Protected = Sequence[tuple[str, Path]]  # (what it is, path): inputs the output must stay clear of


class UnsafeOutDir(Exception):
    """The output directory is not one sloforge may write into."""

    def __init__(self, out: Path, reason: str, *, forceable: bool = False) -> None:
        self.out, self.reason, self.forceable = out, reason, forceable
        shown = str(out) if str(out).endswith("/") else f"{out}/"  # "/" stays "/"
        super().__init__(f"refusing to write into {shown}: {reason}")


def ensure_safe_out(out: Path, protected: Protected = (), force: bool = False) -> None:
    """Raise UnsafeOutDir unless `out` is a directory sloforge may fill and clean up.

    Path checks use resolved paths, so `specs/../specs`, `~` or `..` are
    recognised for what they are. Reads only; creates nothing.
    """
    if out.is_symlink():
        raise UnsafeOutDir(out, f"it is a symbolic link (to {os.readlink(out)}); pass a real directory")
    try:
        resolved = out.resolve()
    except RuntimeError:  # Python 3.11 reports a symlink loop this way
        raise UnsafeOutDir(out, "its path runs into a symbolic link loop") from None
    if resolved.exists() and not resolved.is_dir():
        raise UnsafeOutDir(out, "it exists and is not a directory")
    reasons = _never_writable(resolved, protected)
    if reasons:
        raise UnsafeOutDir(out, "; ".join(reasons))
    if not force and not owned_or_empty(resolved):
        raise UnsafeOutDir(
            out,
            f"it is not empty and has no {MARKER} marker, so sloforge did not create it. "
            "Pick a new directory, or re-run with --force to hand this one to sloforge "
            "(files in it that sloforge does not render will be deleted)",
            forceable=True,
        )


def owned_or_empty(directory: Path) -> bool:
    """True when `directory` is missing, empty, or carries sloforge's marker."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):  # to be created (or creating it fails clearly later)
        return True
    if not names:
        return True
    try:
        return stat.S_ISREG(os.lstat(directory / MARKER).st_mode)  # a symlinked marker proves nothing
    except FileNotFoundError:
        return False


def _never_writable(out: Path, protected: Protected) -> list[str]:
    """Reasons no flag can overrule: writing here would delete what sloforge never wrote."""
    reasons = []
    if out == Path(out.anchor):
        reasons.append("it is the filesystem root")
    reasons += _relation(out, _home(), "your home directory", inside_ok=True)
    reasons += _relation(out, Path.cwd().resolve(), "the current directory", inside_ok=True)
    for what, path in protected:
        reasons += _relation(out, path.resolve(), f"the {what} ({path})", inside_ok=False)
    if (out / ".git").exists():
        reasons.append("it is the root of a git checkout")
    if ".git" in out.parts:
        reasons.append("it is inside a .git directory")
    return reasons


def _relation(out: Path, other: Path | None, what: str, *, inside_ok: bool) -> list[str]:
    if other is None:
        return []
    if out == other:
        return [f"it is {what}"]
    if out in other.parents:
        return [f"it contains {what}"]
    if not inside_ok and other in out.parents:
        return [f"it is inside {what}"]
    return []


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (KeyError, RuntimeError):  # no HOME and no passwd entry
        return None
