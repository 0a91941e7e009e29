"""Run promtool/amtool and collect results as data, not exceptions."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from generator.tools.discovery import AMTOOL, PROMTOOL, Tool, command_for


@dataclass(frozen=True)
class ToolResult:
    what: str  # human label, e.g. "promtool check rules checkout.yaml"
    ok: bool
    output: str


def run_tool(tool: Tool, args: list[str], what: str, cwd: Path | None = None, timeout: float = 300) -> ToolResult:
    argv = command_for(tool, str(cwd) if cwd else None) + args
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ToolResult(what, False, f"timed out after {timeout:g}s")
    return ToolResult(what, done.returncode == 0, (done.stdout + done.stderr).strip())


def promtool(args: list[str], what: str, cwd: Path | None = None) -> ToolResult:
    return run_tool(PROMTOOL, args, what, cwd)


def amtool(args: list[str], what: str, cwd: Path | None = None) -> ToolResult:
    return run_tool(AMTOOL, args, what, cwd)


def rule_files(out: Path) -> list[Path]:
    return sorted((out / "prometheus" / "rules").glob("*.yaml"))


def check_rules(out: Path) -> list[ToolResult]:
    """`promtool check rules --lint=all --lint-fatal` on every rendered rule file."""
    files = rule_files(out)
    return [
        promtool(
            ["check", "rules", "--lint=all", "--lint-fatal", str(path)], f"promtool check rules {path.relative_to(out)}"
        )
        for path in files
    ]
