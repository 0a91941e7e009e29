"""Passes of `promtool test rules` remembered by the bytes they proved, so an unchanged file is proven once.

On a fleet, an edit touches one service file while `sloforge validate`
re-runs every generated test: minutes of promtool for files whose bytes have
not changed. With `SLOFORGE_CACHE_DIR` set, a pass is recorded under a key
that covers everything the result depends on: the promtool binary (path,
size, modification time, inode), the test file's bytes, and every rule file
its `rule_files` resolve to (patterns, matched paths relative to the test
file, bytes): a byte-identical copy of a tree elsewhere reuses the passes. A later run with
the same key reuses the pass; any change in any of them runs promtool again.

Only passes are recorded, never failures or timeouts. A test file whose
`rule_files` cannot be read or resolved, or a promtool run through docker
(an image tag can move), is never cached. Whoever can write the cache
directory can fake a pass: keep it as private as the rendered tree
(docs/ci.md, "Proven once").
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from generator.spec.yaml_source import read_documents
from generator.tools.discovery import Tool, command_for

CACHE_ENV = "SLOFORGE_CACHE_DIR"
_FORMAT = b"sloforge proof cache 1\n"


def cache_dir() -> Path | None:
    """`SLOFORGE_CACHE_DIR`, or None (no cache) when unset or empty."""
    wanted = os.environ.get(CACHE_ENV, "")
    return Path(wanted) if wanted else None


def _tool_identity(tool: Tool, workdir: Path) -> bytes | None:
    """The binary that would run, by path and file identity; None through docker."""
    argv = command_for(tool, str(workdir))
    if len(argv) != 1:
        return None
    try:
        info = Path(argv[0]).resolve().stat()
    except OSError:
        return None
    return f"{argv[0]}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}\0{info.st_dev}".encode()


def _rule_patterns(test_file: Path) -> list[str] | None:
    """The `rule_files` entries of a promtool test file, or None when they cannot be read as a list of strings."""
    documents, errors = read_documents(test_file, str(test_file))
    if errors or len(documents) != 1 or not isinstance(documents[0].data, dict):
        return None
    patterns = documents[0].data.get("rule_files")
    if not isinstance(patterns, list) or not all(isinstance(pattern, str) for pattern in patterns):
        return None
    return patterns


def _resolved(pattern: str, base: Path) -> list[Path] | None:
    """What promtool reads for one `rule_files` entry (relative to the test file, globs expanded), or None."""
    joined = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
    if any(char in pattern for char in "*?["):
        return [Path(match) for match in sorted(glob.glob(joined))] or None
    return [Path(joined)]


def rule_test_key(tool: Tool, test_file: Path) -> str | None:
    """The cache key of `promtool test rules test_file`, or None when its inputs cannot all be pinned down."""
    identity = _tool_identity(tool, test_file.parent)
    patterns = _rule_patterns(test_file)
    if identity is None or patterns is None:
        return None
    digest = hashlib.sha256(_FORMAT + identity)
    try:
        digest.update(b"\0test\0" + test_file.read_bytes())
        for pattern in patterns:
            files = _resolved(pattern, test_file.parent)
            if files is None:
                return None
            digest.update(b"\0pattern\0" + pattern.encode())
            for path in files:
                if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
                    return None
                where = os.path.relpath(path, test_file.parent)  # a copied tree proves the same
                digest.update(b"\0file\0" + where.encode() + b"\0" + path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def recorded_pass(key: str) -> str | None:
    """promtool's output of the recorded pass under `key`, or None."""
    root = cache_dir()
    if root is None:
        return None
    try:
        return (root / key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def record_pass(key: str, output: str) -> None:
    """Remember a pass; a cache that cannot be written is skipped, never a failed validation."""
    root = cache_dir()
    if root is None:
        return
    staged: str | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=root, prefix=".", delete=False) as handle:
            staged = handle.name
            handle.write(output)
        os.replace(staged, root / key)
    except OSError:
        if staged is not None:
            Path(staged).unlink(missing_ok=True)
