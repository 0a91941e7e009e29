"""Every spec error at once (schema, semantic, drafts, base config), and one path style for errors and warnings:
`path:line:col`, the path relative to the working directory when under it, else absolute."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_paths import TEAMS

SCHEMA_ERROR = """apiVersion: sloforge/v1
kind: Service
service: broken
team: payments
slos:
  - name: availability
    objective: lots
    sli:
      raw: {error_ratio: 'avg(rate(x{job="a"}[{{.window}}]))'}
"""
SEMANTIC_ERROR = """apiVersion: sloforge/v1
kind: Service
service: orphan
team: nobody
slos:
  - name: availability
    objective: 99.9
    sli:
      raw: {error_ratio: 'avg(rate(x{job="b"}[{{.window}}]))'}
"""
BAD_DRAFT = "apiVersion: sloforge/v1\nkind: Nonsense\n"
BAD_BASE = "global: {smtp_smarthost: 'mx:25', smtp_from: a@example.com}\nroute: {receiver: default}\nreceivers:\n  - name: default\n    slack_configs:\n      - api_url: https://hooks.example/secret\n"
WARNED = """apiVersion: sloforge/v1
kind: Service
service: quiet
team: payments
slos:
  - name: availability
    objective: 99.9
    expected_rate: 0.01
    sli:
      events:
        errors: sum(rate(requests_total{job="quiet",code=~"5.."}[{{.window}}]))
        total: sum(rate(requests_total{job="quiet"}[{{.window}}]))
"""


def sloforge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    (specs / "drafts").mkdir(parents=True)
    (specs / "teams.yaml").write_text(TEAMS.read_text())
    (specs / "a-schema.yaml").write_text(SCHEMA_ERROR)
    (specs / "b-semantic.yaml").write_text(SEMANTIC_ERROR)
    (specs / "drafts" / "broken.yaml").write_text(BAD_DRAFT)
    (specs / "alertmanager.base.yml").write_text(BAD_BASE)
    return specs


def _error_paths(stderr: str) -> list[str]:
    return [match.group(1) for match in re.finditer(r"^error (\S+?):\d+:\d+: ", stderr, re.MULTILINE)]


def test_schema_semantic_draft_and_base_errors_are_reported_together(broken: Path):
    done = sloforge("render", "--specs", "specs", "--out", "out", cwd=broken.parent)
    assert done.returncode == 2, done.stderr
    assert _error_paths(done.stderr) == [
        "specs/a-schema.yaml",
        "specs/alertmanager.base.yml",
        "specs/b-semantic.yaml",
        "specs/drafts/broken.yaml",
    ], done.stderr
    assert "4 error(s) in specs; nothing was written." in done.stderr
    assert not (broken.parent / "out").exists()


def test_paths_outside_the_working_directory_are_absolute(broken: Path):
    elsewhere = broken.parent / "elsewhere"
    elsewhere.mkdir()
    done = sloforge("render", "--specs", "../specs", "--out", "out", cwd=elsewhere)
    assert done.returncode == 2
    root = broken.resolve().as_posix()
    assert _error_paths(done.stderr) == [
        f"{root}/a-schema.yaml",
        f"{root}/alertmanager.base.yml",
        f"{root}/b-semantic.yaml",
        f"{root}/drafts/broken.yaml",
    ], done.stderr


@pytest.mark.parametrize("cwd_is_parent", [True, False])
def test_warnings_point_at_the_slo_like_errors_do(tmp_path: Path, cwd_is_parent: bool):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(TEAMS.read_text())
    (specs / "quiet.yaml").write_text(WARNED)
    cwd = tmp_path if cwd_is_parent else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    spec_arg = "specs" if cwd_is_parent else str(specs)
    done = sloforge("render", "--specs", spec_arg, "--out", str(tmp_path / "out"), cwd=cwd)
    assert done.returncode == 0, done.stderr
    shown = "specs/quiet.yaml" if cwd_is_parent else (specs / "quiet.yaml").resolve().as_posix()
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning ")]
    low_traffic = [line for line in warnings if "low traffic" in line]
    assert low_traffic, done.stderr
    for line in low_traffic:
        assert line.startswith(f"warning {shown}:6:5: quiet/availability: low traffic"), line
    folder = shown.rsplit("/", 1)[0]
    for line in warnings:  # the teams' routing warnings too
        assert re.match(rf"warning {re.escape(folder)}/[a-z.-]+\.yaml:\d+:\d+: ", line), line
