"""Run promtool/amtool and collect results as data, not exceptions."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from generator.tools.discovery import AMTOOL, PROMTOOL, Tool, command_for


@dataclass(frozen=True)
class ToolResult:
    what: str  # human label, e.g. "promtool check rules checkout.yaml"
    ok: bool
    output: str


DEFAULT_TIMEOUT = 300.0  # seconds per promtool/amtool process


def tool_timeout() -> float:
    """`SLOFORGE_TOOL_TIMEOUT` (seconds), else 300 s: a wall-clock limit, so a loaded machine may need more."""
    wanted = os.environ.get("SLOFORGE_TOOL_TIMEOUT", "")
    try:
        return float(wanted) if float(wanted) > 0 else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def run_tool(
    tool: Tool, args: list[str], what: str, cwd: Path | None = None, timeout: float | None = None
) -> ToolResult:
    argv = command_for(tool, str(cwd) if cwd else None) + args
    timeout = tool_timeout() if timeout is None else timeout
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ToolResult(what, False, f"timed out after {timeout:g}s")
    return ToolResult(what, done.returncode == 0, (done.stdout + done.stderr).strip())


def workers(jobs: int) -> int:
    """Processes to run at once: one per core (promtool and amtool are CPU-bound), at least one.

    `SLOFORGE_JOBS` overrides it (e.g. 1 to run the checks one by one).
    """
    wanted = os.environ.get("SLOFORGE_JOBS", "")
    limit = int(wanted) if wanted.isdigit() and int(wanted) > 0 else os.cpu_count() or 1
    return max(1, min(limit, jobs))


def run_jobs(jobs: Sequence[Callable[[], ToolResult]], costs: Sequence[float] | None = None) -> list[ToolResult]:
    """Run the jobs on a bounded pool; results in the order of `jobs`, whatever order they finish in.

    With `costs`, the costliest jobs start first so a long one does not run alone at the end.
    """
    if len(jobs) <= 1 or workers(len(jobs)) == 1:
        return [job() for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -costs[i]) if costs is not None else list(range(len(jobs)))
    with ThreadPoolExecutor(max_workers=workers(len(jobs))) as pool:
        futures = {index: pool.submit(jobs[index]) for index in order}
        return [futures[index].result() for index in range(len(jobs))]


def promtool(args: list[str], what: str, cwd: Path | None = None) -> ToolResult:
    return run_tool(PROMTOOL, args, what, cwd)


def amtool(args: list[str], what: str, cwd: Path | None = None) -> ToolResult:
    return run_tool(AMTOOL, args, what, cwd)


def rule_files(out: Path) -> list[Path]:
    return sorted((out / "prometheus" / "rules").glob("*.yaml"))


def check_rules(out: Path) -> list[ToolResult]:
    """`promtool check rules --lint=all --lint-fatal` on every rendered rule file."""
    return run_jobs([partial(check_rule_file, out, path) for path in rule_files(out)])


def check_rule_file(out: Path, path: Path) -> ToolResult:
    return promtool(
        ["check", "rules", "--lint=all", "--lint-fatal", str(path)], f"promtool check rules {path.relative_to(out)}"
    )
