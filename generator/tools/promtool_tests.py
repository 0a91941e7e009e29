"""`promtool test rules` over every generated test file of a rendered tree.

Files run in parallel, one promtool per core (`runner.run_jobs`: promtool is
single-threaded per file and the suite is CPU-bound), the biggest files first
so a long one does not run alone at the end; results come back in file order
so output is stable.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from generator.targets.rule_tests import TESTS_DIR
from generator.tools.runner import ToolResult, promtool, run_jobs


def rule_test_files(out: Path) -> list[Path]:
    return sorted((out / TESTS_DIR).glob("*.test.yaml"))


def run_rule_test(path: Path, out: Path | None = None) -> ToolResult:
    """promtool resolves `rule_files` relative to the test file, so any working directory works."""
    shown = path.relative_to(out) if out is not None else path
    return promtool(["test", "rules", str(path)], f"promtool test rules {shown}")


def run_rule_tests(out: Path) -> list[ToolResult]:
    files = rule_test_files(out)
    return run_jobs([partial(run_rule_test, path, out) for path in files], [path.stat().st_size for path in files])
