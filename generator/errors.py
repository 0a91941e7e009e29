"""Errors the command line reports and the exit code each one means (docs/ci.md, exit codes).

Helpers raise these instead of printing and calling `sys.exit`; `generator.cli`
catches them in one place, prints their lines once to stderr and exits with
their code. 0 is success, 1 a failed check, a failed tool or a failed write,
2 bad input (nothing written), 3 a budget gate that says no.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
MAX_PRINTED_ERRORS = 200  # a generated or hostile file can hold 100,000 mistakes; the first ones are enough


class SloforgeError(Exception):
    """A failure to report as its lines (nothing when empty) and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, *lines: str, exit_code: int | None = None) -> None:
        super().__init__("\n".join(lines))
        self.lines: tuple[str, ...] = lines
        if exit_code is not None:
            self.exit_code = exit_code


class UserInputError(SloforgeError):
    """Bad specs, options or paths: exit 2, and nothing was written."""

    exit_code = EXIT_BAD_INPUT


class CheckFailed(SloforgeError):
    """A check said no: drift, promtool/amtool, unreviewed drafts, no data: exit 1."""


class ToolFailure(SloforgeError):
    """A tool sloforge needs is missing or failed to run: exit 1."""


class WriteError(SloforgeError):
    """Writing a file or tree failed (disk full, permission denied, a file in the way): exit 1."""


def error_lines(errors: Sequence[object], summary: str) -> tuple[str, ...]:
    """`error <e>` per error, at most MAX_PRINTED_ERRORS of them, then the summary."""
    lines = [f"error {error}" for error in errors[:MAX_PRINTED_ERRORS]]
    if len(errors) > MAX_PRINTED_ERRORS:
        lines.append(f"... and {len(errors) - MAX_PRINTED_ERRORS} more")
    return (*lines, summary)
