"""What every renderer returns: its files and its warnings, together (docs/design.md, contracts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from generator.model.warnings import SpecWarning


@dataclass(frozen=True)
class Rendered:
    """Files by relative path, and what the renderer could not render or prove (never skipped silently)."""

    files: dict[str, str] = field(default_factory=dict)
    warnings: tuple[SpecWarning, ...] = ()


def combined(parts: Iterable[Rendered]) -> Rendered:
    """The parts' files in path order and their warnings sorted; two parts writing one path is a bug."""
    files: dict[str, str] = {}
    warnings: list[SpecWarning] = []
    for part in parts:
        for path, text in part.files.items():
            if path in files:
                raise ValueError(f"two renderers produce {path}")
            files[path] = text
        warnings += part.warnings
    return Rendered(dict(sorted(files.items())), tuple(sorted(warnings)))
