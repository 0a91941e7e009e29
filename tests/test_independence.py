"""`make test` tests the project, not the user's specs: slo_specs/, rendered/ and the demo secrets are the user's.

Two proofs: no test module builds a path to them from the repository root, and
a copy of the repository whose slo_specs/ went through the README's "add an
SLO" steps (and whose rendered/ is gone) still passes the tests that used to
read them.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
USER_PATHS = {"slo_specs", "rendered"}
REPO_ROOTS = {"REPO", "repo_root", "ROOT"}
# The tests that read slo_specs/ before they moved onto tests/fixtures/specs/.
FORMER_READERS = (
    "tests/test_ai_draft.py",
    "tests/test_alertmanager_amtool.py",
    "tests/test_alertmanager_render.py",
    "tests/test_cli.py",
    "tests/test_compose.py",
    "tests/test_explain.py",
    "tests/test_runbooks.py",
)
SLOW = "not test_validate_runs_promtool_and_fails_on_a_broken_rule and not test_sloforge_validate_fails_on_a_routing"


def _root_and_parts(node: ast.expr) -> tuple[str | None, list[str]]:
    """`REPO / "a" / "b"` -> ("REPO", ["a", "b"]); the root is the leftmost name."""
    parts: list[str] = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        if isinstance(node.right, ast.Constant) and isinstance(node.right.value, str):
            parts.insert(0, node.right.value)
        node = node.left
    if isinstance(node, ast.Name):
        return node.id, parts
    return ("__file__" if "__file__" in ast.unparse(node) else None), parts  # Path(__file__).resolve().parent...


def user_path_references(source: str) -> list[str]:
    """Paths into the user's slo_specs/ or rendered/ built from the repository root, or relative to the cwd."""
    found: dict[int, str] = {}  # by line: `a / "b" / "c"` holds `a / "b"` too
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            root, parts = _root_and_parts(node)
            first = parts[0].split("/")[0] if parts else ""
            if (root in REPO_ROOTS or root == "__file__") and first in USER_PATHS:
                found.setdefault(node.lineno, ast.unparse(node))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "Path" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and str(arg.value).split("/")[0] in USER_PATHS:
                found.setdefault(node.lineno, ast.unparse(node))
    return [f"line {line}: {text}" for line, text in sorted(found.items())]


def test_the_guard_finds_paths_into_the_users_folders():
    bad = (
        'SPECS = Path(__file__).resolve().parent.parent / "slo_specs"\n'
        'x = repo_root / "slo_specs" / "teams.yaml"\n'
        'y = REPO / "rendered/prometheus"\n'
        'z = Path("slo_specs")\n'
    )
    assert len(user_path_references(bad)) == 4
    assert user_path_references('a = tmp_path / "slo_specs"\nb = tmp_path / "rendered"\n') == []


def test_no_test_module_reads_the_users_specs_or_rendered_tree():
    offenders = {
        path.name: refs
        for path in sorted(TESTS.glob("*.py"))
        if path.name != Path(__file__).name and (refs := user_path_references(path.read_text()))
    }
    assert offenders == {}, "tests must use tests/fixtures/specs/ (the `specs_dir` fixture), not the user's folders"


def _follow_the_readme(specs: Path) -> None:
    """README "Add an SLO": a new SLO in an existing service, a new service file with a new team."""
    checkout = specs / "checkout.yaml"
    checkout.write_text(
        checkout.read_text() + "  - name: payments-accepted\n"
        "    objective: 99.5\n"
        "    sli:\n"
        "      events:\n"
        '        errors: sum(rate(payments_total{job="checkout",result="error"}[{{.window}}]))\n'
        '        total: sum(rate(payments_total{job="checkout"}[{{.window}}]))\n'
    )
    (specs / "search.yaml").write_text(
        "apiVersion: sloforge/v1\nkind: Service\nservice: search\nteam: discovery\nslos:\n"
        "  - name: availability\n    objective: 99\n    sli:\n      events:\n"
        '        errors: sum(rate(search_requests_total{job="search",code=~"5.."}[{{.window}}]))\n'
        '        total: sum(rate(search_requests_total{job="search"}[{{.window}}]))\n'
    )
    teams = specs / "teams.yaml"
    teams.write_text(
        teams.read_text() + "  discovery:\n    page:\n"
        "      pagerduty: {routing_key_file: /etc/alertmanager/secrets/discovery-pagerduty}\n"
    )


@pytest.mark.slow
def test_tests_pass_after_the_user_adds_an_slo_a_service_and_a_team(tmp_path):
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("generator", "tests", "bench", "slo_specs"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", ".work"))
    for name in ("pyproject.toml", "docker-compose.yml"):
        shutil.copy(REPO / name, copy / name)
    _follow_the_readme(copy / "slo_specs")
    render = subprocess.run(
        [sys.executable, "-m", "generator", "render"], cwd=copy, capture_output=True, text=True, timeout=300
    )
    assert render.returncode == 0, render.stderr  # the user's edit is valid: only the tests could object
    shutil.rmtree(copy / "rendered")  # and tests must not read the rendered tree either
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-k", SLOW, *FORMER_READERS],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
