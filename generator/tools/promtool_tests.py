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
from generator.tools.discovery import PROMTOOL
from generator.tools.proof_cache import cache_dir, record_pass, recorded_pass, rule_test_key
from generator.tools.runner import ToolResult, promtool, run_jobs

CACHED = " (unchanged since a recorded pass)"


def rule_test_files(out: Path) -> list[Path]:
    return sorted((out / TESTS_DIR).glob("*.test.yaml"))


def run_rule_test(path: Path, out: Path | None = None) -> ToolResult:
    """promtool resolves `rule_files` relative to the test file, so any working directory works.

    With `SLOFORGE_CACHE_DIR` set, a pass on byte-identical inputs is reused
    (`proof_cache`) and says so in its description.
    """
    shown = path.relative_to(out) if out is not None else path
    what = f"promtool test rules {shown}"
    key = rule_test_key(PROMTOOL, path) if cache_dir() is not None else None
    if key is not None and (output := recorded_pass(key)) is not None:
        return ToolResult(what + CACHED, True, output)
    result = promtool(["test", "rules", str(path)], what)
    if key is not None and result.ok and rule_test_key(PROMTOOL, path) == key:  # unchanged while promtool ran
        record_pass(key, result.output)
    return result


def run_rule_tests(out: Path) -> list[ToolResult]:
    files = rule_test_files(out)
    return run_jobs([partial(run_rule_test, path, out) for path in files], [path.stat().st_size for path in files])
