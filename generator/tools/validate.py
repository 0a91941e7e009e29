"""Every real-tool check over a rendered tree, in one list for `sloforge validate`.

Each validator runs its promtool/amtool processes on a pool of one per core
(`runner.run_jobs`); results keep the order of the checks, so the output is
the same from run to run whatever finishes first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generator.tools.amtool_checks import check_alertmanager
from generator.tools.deploy_checks import check_deploy_formats
from generator.tools.promtool_tests import rule_test_files, run_rule_tests
from generator.tools.runner import ToolResult, check_rules, rule_files

Validator = Callable[[Path], list[ToolResult]]

VALIDATORS: tuple[Validator, ...] = (check_rules, run_rule_tests, check_alertmanager, check_deploy_formats)


def nothing_to_validate(out: Path) -> str | None:
    """Why `out` cannot be a rendered tree (no rules, or rules without tests), or None.

    An empty or half-copied tree would otherwise pass as "0 checks ok".
    """
    if not rule_files(out):
        return f"{out}/ holds no rendered rules (prometheus/rules/*.yaml)"
    if not rule_test_files(out):
        return f"{out}/ holds rules but no rule tests (prometheus/tests/*.test.yaml)"
    return None


def validate_tree(out: Path) -> list[ToolResult]:
    results: list[ToolResult] = []
    for validator in VALIDATORS:
        results.extend(validator(out))
    return results
