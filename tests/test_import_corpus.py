"""`sloforge import` over the public Sloth / OpenSLO / Pyrra example corpus (read in place, never copied).

The corpus lives at $SLOFORGE_PEERS_DIR, else beside the repository (`../shared/peers`) or at
/work/shared/peers; without it these tests skip. docs/import.md states the counts measured here.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.importers.run import SUFFIXES
from generator.model.validate import validate
from generator.spec.load import load_specs

REPO = Path(__file__).resolve().parent.parent
PROJECTS = ("sloth", "openslo", "pyrra")
# Named bad/invalid/malformed, yet nothing sloforge reads is wrong in them alone:
VALID_TO_SLOFORGE = {
    "bad-openslo.yaml": "a 28-day window is invalid only to Sloth's test setup",
    "bad-multi-k8s.yaml": "the empty Sloth alert name is not used (sloforge names alerts)",
    "alert-condition-invalid-name.yaml": "'my-condition' is a valid name; only an unused AlertCondition",
}


def _corpus() -> Path | None:
    """$SLOFORGE_PEERS_DIR when set (set it to a missing path to run without the corpus), else the usual places."""
    given = os.environ.get("SLOFORGE_PEERS_DIR")
    candidates = [given] if given is not None else [REPO.parent / "shared" / "peers", "/work/shared/peers"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "sloth").is_dir():
            return Path(candidate)
    return None


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="peer corpus ../shared/peers not present")


def corpus_files(project: str) -> list[Path]:
    assert CORPUS is not None
    return sorted(p for p in (CORPUS / project).rglob("*") if p.suffix in SUFFIXES and p.is_file())


def deliberately_invalid(path: Path) -> bool:
    name = path.name
    wanted = "/bad/" in path.as_posix() or "invalid-" in name or "malformed" in name or "/_gen/" in path.as_posix()
    return wanted and name not in VALID_TO_SLOFORGE


def import_file(path: Path, out: Path):
    return CliRunner().invoke(main, ["import", str(path), "--out", str(out)], catch_exceptions=False)


ERROR_LINE = re.compile(r"^error \S+:\d+:\d+: \S")
SUMMARY = re.compile(r"^imported (\d+), approximated (\d+), skipped (\d+);", re.MULTILINE)


@pytest.fixture(scope="module")
def corpus_counts(tmp_path_factory) -> dict[str, Counter]:
    """Import every corpus file on its own; check each result; count per project."""
    counts: dict[str, Counter] = {}
    for project in PROJECTS:
        count: Counter = Counter()
        for index, path in enumerate(corpus_files(project)):
            out = tmp_path_factory.mktemp(project) / f"out{index}"
            result = import_file(path, out)
            assert result.exit_code in (0, 1, 2), (path, result.output)
            assert "Traceback" not in result.output
            if result.exit_code == 2:
                count["invalid files"] += 1
                lines = [line for line in result.output.splitlines() if line.startswith("error")]
                assert lines and all(ERROR_LINE.match(line) for line in lines), (path, result.output)
                assert not out.exists(), path
                continue
            assert not deliberately_invalid(path), f"{path} should be refused: {result.output}"
            imported, approximated, skipped = map(int, SUMMARY.search(result.output).groups())  # type: ignore[union-attr]
            count["imported"] += imported
            count["approximated"] += approximated
            count["skipped"] += skipped
            assert (result.exit_code == 1) == (skipped > 0 or imported + approximated == 0), (path, result.output)
            if imported + approximated:
                validate(load_specs(out))  # the written specs load and pass sloforge's checks as written
        counts[project] = count
    return counts


def test_deliberately_invalid_files_exit_2_with_positions(corpus_counts):
    assert CORPUS is not None
    for project in PROJECTS:
        for path in corpus_files(project):
            if deliberately_invalid(path):
                result = import_file(path, Path(os.devnull) / "never")
                assert result.exit_code == 2, (path, result.output)


def test_every_in_scope_slo_imports_and_docs_state_the_counts(corpus_counts):
    docs = (REPO / "docs" / "import.md").read_text()
    for project, count in corpus_counts.items():
        assert count["imported"] + count["approximated"] > 0, project
        row = f"| {project} | {count['imported']} | {count['approximated']} | {count['skipped']} | {count['invalid files']} |"
        assert row in docs, f"docs/import.md should carry the measured row {row}"


def test_a_sample_renders_and_passes_sloforge_validate(tmp_path):
    assert CORPUS is not None
    sample = [  # one of each format and SLI shape; promtool time grows with every SLO
        CORPUS / "sloth/examples/getting-started.yml",
        CORPUS / "sloth/examples/openslo-getting-started.yml",
        CORPUS / "pyrra/examples/kubernetes/manifests/slos/slo-apiserver-read-cluster-latency.yaml",
        CORPUS / "pyrra/examples/kubernetes/manifests/slos/slo-coredns-response-errors.yaml",
    ]
    specs, rendered = tmp_path / "specs", tmp_path / "rendered"
    runner = CliRunner()
    result = runner.invoke(main, ["import", *map(str, sample), "--out", str(specs)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    render = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(rendered)], catch_exceptions=False)
    assert render.exit_code == 0, render.output
    checked = runner.invoke(main, ["validate", "--out", str(rendered)], catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert re.search(r"validate: \d+ checks ok, 0 failed", checked.output)
