"""Bad input: every mistake gives file:line:col, exit code 2, no traceback, no change on disk."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from generator.output import read_tree

TEAMS = textwrap.dedent(
    """\
    apiVersion: sloforge/v1
    kind: Teams
    teams:
      payments:
        page: {pagerduty: {routing_key_file: /etc/alertmanager/secrets/pd}}
    """
)


def service(slo_body: str, head: str = "") -> str:
    """A Service document with one SLO whose body is `slo_body` (indented under `- `)."""
    body = textwrap.indent(textwrap.dedent(slo_body), "    ").lstrip()
    return "apiVersion: sloforge/v1\nkind: Service\nservice: checkout\nteam: payments\n" + head + f"slos:\n  - {body}"


GOOD_SLI = """\
sli:
  events:
    errors: sum(rate(req_total{code=~"5.."}[{{.window}}]))
    total: sum(rate(req_total[{{.window}}]))
"""

# (case id, file content (bytes or text), expected "line:col", expected message fragment)
CASES: list[tuple[str, bytes | str, str, str]] = [
    ("empty file", "", "1:1", "no YAML documents"),
    ("tabs", "apiVersion: sloforge/v1\nkind: Service\n\tservice: x\n", "3:1", "not tabs"),
    (
        "duplicate key",
        service("name: a\nobjective: 99\nobjective: 98\n" + GOOD_SLI),
        "8:5",
        "duplicate key 'objective'",
    ),
    ("list instead of map", service("name: a\nobjective: 99\nsli: [1, 2]\n"), "8:10", "expected a mapping, got a list"),
    ("non-UTF-8 bytes", b"apiVersion: sloforge/v1\nkind: Service\nservice: caf\xe9\n", "3:13", "not valid UTF-8"),
    ("objective 0", service("name: a\nobjective: 0\n" + GOOD_SLI), "7:16", "greater than 0"),
    ("objective 100", service("name: a\nobjective: 100\n" + GOOD_SLI), "7:16", "less than 100"),
    ("window 30x", service("name: a\nobjective: 99\nwindow: 30x\n" + GOOD_SLI), "8:13", "'30x' is not a duration"),
    ("window too long", service("name: a\nobjective: 99\nwindow: 13w\n" + GOOD_SLI), "8:13", "between 1d and 90d"),
    (
        "duplicate SLO names",
        service("name: a\nobjective: 99\n" + GOOD_SLI)
        + "  - "
        + textwrap.indent("name: a\nobjective: 98\n" + GOOD_SLI, "    ").lstrip(),
        "12:11",
        "duplicate SLO name 'a'",
    ),
    (
        "unknown team",
        service("name: a\nobjective: 99\n" + GOOD_SLI).replace("team: payments", "team: paymnts"),
        "4:7",
        "did you mean 'payments'",
    ),
    (
        "query without window",
        service(
            "name: a\nobjective: 99\nsli:\n  events:\n    errors: sum(rate(e[5m]))\n    total: sum(rate(t[{{.window}}]))\n"
        ),
        "10:17",
        "no {{.window}} placeholder",
    ),
    (
        "query does not parse",
        service(
            "name: a\nobjective: 99\nsli:\n  events:\n    errors: sum(rate(e[{{.window}}])\n    total: sum(rate(t[{{.window}}]))\n"
        ),
        "10:17",
        "PromQL does not parse",
    ),
    (
        "experimental function promtool 2.x does not know",
        service(
            "name: a\nobjective: 99\nsli:\n  events:\n    errors: sum(info(rate(e[{{.window}}])))\n"
            "    total: sum(rate(t[{{.window}}]))\n"
        ),
        "10:17",
        "`info` is experimental",
    ),
    (
        "experimental aggregation",
        service(
            "name: a\nobjective: 99\nsli:\n  events:\n    errors: sum(limitk(5, rate(e[{{.window}}])))\n"
            "    total: sum(rate(t[{{.window}}]))\n"
        ),
        "10:17",
        "`limitk` is experimental",
    ),
    (
        "threshold not a duration",
        service("name: a\nobjective: 99\nsli:\n  latency: {histogram: h, threshold: fast}\n"),
        "9:42",
        "'fast' is not a duration",
    ),
    ("unknown field", service("name: a\nobjectve: 99\n" + GOOD_SLI), "7:5", "did you mean 'objective'"),
    ("bad name", service("name: Avail\nobjective: 99\n" + GOOD_SLI), "6:11", "does not match"),
    (
        "tier window longer than SLO window",
        service("name: a\nobjective: 99\nwindow: 2d\n" + GOOD_SLI),
        "8:13",
        "long window 3d must be shorter than the SLO window 2d",
    ),
    (
        "literal secret",
        "apiVersion: sloforge/v1\nkind: Teams\nteams:\n  payments:\n    page: {pagerduty: {routing_key: abc123}}\n",
        "5:24",
        "would put a secret into the spec",
    ),
    ("unknown kind", "apiVersion: sloforge/v1\nkind: Servise\n", "2:7", "did you mean 'Service'"),
    (
        "a label sloforge sets (every slo_* name)",
        service("name: a\nobjective: 99\n" + GOOD_SLI, head="labels: {slo_notify: page}\n"),
        "5:10",
        "label 'slo_notify' is set by sloforge",
    ),
]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


@pytest.fixture
def workdir(tmp_path: Path, repo_root: Path) -> Path:
    """A specs dir with a valid Teams file and a previously rendered tree."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(TEAMS)
    out = tmp_path / "out"
    (out / "prometheus").mkdir(parents=True)
    (out / "prometheus" / "old.yaml").write_text("previous render\n")
    return tmp_path


@pytest.mark.parametrize(("case", "content", "position", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_reported_precisely(workdir: Path, case: str, content: bytes | str, position: str, fragment: str):
    target = workdir / "specs" / ("teams.yaml" if "Teams" in str(content) else "bad.yaml")
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = read_tree(workdir / "out")

    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"specs/{target.name}:{position}: " in result.stderr, result.stderr
    assert fragment in result.stderr, result.stderr
    assert read_tree(workdir / "out") == before


def test_all_errors_of_a_run_are_reported_together_sorted(workdir: Path):
    (workdir / "specs" / "b.yaml").write_text(service("name: a\nobjective: 100\n" + GOOD_SLI))
    (workdir / "specs" / "a.yaml").write_text(
        service("name: a\nobjective: 99\nwindow: 30x\n" + GOOD_SLI).replace("checkout", "cart")
    )
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert len(lines) == 2, result.stderr
    assert "specs/a.yaml:8:13" in lines[0] and "specs/b.yaml:7:16" in lines[1]
    assert "2 error(s)" in result.stderr


def test_semantic_errors_are_reported_beside_schema_errors(workdir: Path):
    """A schema error in one SLO must not hide a bad query in the next one."""
    text = (
        service("name: a\nobjective: 100\n" + GOOD_SLI)
        + "  - "
        + textwrap.indent("name: b\nobjective: 99\nsli:\n  raw: {error_ratio: 'x'}\n", "    ").lstrip()
    )
    (workdir / "specs" / "bad.yaml").write_text(text)
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2
    assert "less than 100" in result.stderr
    assert "no {{.window}} placeholder" in result.stderr


def test_check_and_validate_also_exit_2_on_bad_specs(workdir: Path):
    (workdir / "specs" / "bad.yaml").write_text(service("name: a\nobjective: 0\n" + GOOD_SLI))
    result = run_cli("check", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2
    assert "bad.yaml:7:16" in result.stderr


def test_missing_specs_directory(workdir: Path):
    result = run_cli("render", "--specs", "nope", "--out", "out", cwd=workdir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
