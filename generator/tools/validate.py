"""Every real-tool check over a rendered tree, in one list for `sloforge validate`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generator.tools.amtool_checks import check_alertmanager
from generator.tools.deploy_checks import check_deploy_formats
from generator.tools.rule_tests import run_rule_tests
from generator.tools.runner import ToolResult, check_rules

Validator = Callable[[Path], list[ToolResult]]

VALIDATORS: tuple[Validator, ...] = (check_rules, run_rule_tests, check_alertmanager, check_deploy_formats)


def validate_tree(out: Path) -> list[ToolResult]:
    results: list[ToolResult] = []
    for validator in VALIDATORS:
        results.extend(validator(out))
    return results
