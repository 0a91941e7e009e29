"""`sloforge validate` must never report success for a tree that holds nothing to validate."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from generator.cli import main


def validate(out) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--out", str(out)])
    return result.exit_code, result.output


def test_missing_out_dir_is_bad_input(tmp_path):
    code, output = validate(tmp_path / "nowhere")
    assert code == 2
    assert "does not exist" in output and "sloforge render" in output
    assert "checks ok" not in output


def test_out_that_is_a_file_is_bad_input(tmp_path):
    (tmp_path / "rendered").write_text("not a tree\n")
    code, output = validate(tmp_path / "rendered")
    assert code == 2
    assert "is a file" in output
    assert "checks ok" not in output


def test_empty_out_dir_fails(tmp_path):
    code, output = validate(tmp_path)
    assert code == 1
    assert "no rendered rules" in output and "prometheus/rules/" in output
    assert "checks ok" not in output


@pytest.mark.parametrize("keep", ["alertmanager", "grafana"])
def test_tree_without_rules_fails(rendered_dir, tmp_path, keep, amtool):
    copy = tmp_path / "rendered"
    shutil.copytree(rendered_dir / keep, copy / keep)
    code, output = validate(copy)
    assert code == 1
    assert "no rendered rules" in output
    assert "checks ok" not in output


def test_rules_without_rule_tests_fail(rendered_dir, tmp_path, promtool):
    copy = tmp_path / "rendered"
    shutil.copytree(rendered_dir / "prometheus" / "rules", copy / "prometheus" / "rules")
    code, output = validate(copy)
    assert code == 1
    assert "no rule tests" in output


def test_the_tool_timeout_can_be_raised_for_a_loaded_machine(monkeypatch, promtool):
    from generator.tools.discovery import PROMTOOL
    from generator.tools.runner import DEFAULT_TIMEOUT, run_tool, tool_timeout

    monkeypatch.delenv("SLOFORGE_TOOL_TIMEOUT", raising=False)
    assert tool_timeout() == DEFAULT_TIMEOUT
    monkeypatch.setenv("SLOFORGE_TOOL_TIMEOUT", "0.000001")
    result = run_tool(PROMTOOL, ["--version"], "promtool --version")
    assert not result.ok and result.output == "timed out after 1e-06s"
    monkeypatch.setenv("SLOFORGE_TOOL_TIMEOUT", "nonsense")
    assert tool_timeout() == DEFAULT_TIMEOUT
