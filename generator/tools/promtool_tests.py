"""`promtool test rules` over every generated test file of a rendered tree.

Files run in parallel (two at a time: promtool is single-threaded per file and
the suite is CPU-bound); results come back in file order so output is stable.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from generator.targets.rule_tests import TESTS_DIR
from generator.tools.runner import ToolResult, promtool

MAX_PARALLEL = 2


def rule_test_files(out: Path) -> list[Path]:
    return sorted((out / TESTS_DIR).glob("*.test.yaml"))


def run_rule_test(path: Path, out: Path | None = None) -> ToolResult:
    """promtool resolves `rule_files` relative to the test file, so any working directory works."""
    shown = path.relative_to(out) if out is not None else path
    return promtool(["test", "rules", str(path)], f"promtool test rules {shown}")


def run_rule_tests(out: Path) -> list[ToolResult]:
    files = rule_test_files(out)
    workers = max(1, min(MAX_PARALLEL, os.cpu_count() or 1, len(files)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda path: run_rule_test(path, out), files))
