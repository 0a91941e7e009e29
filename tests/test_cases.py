"""Golden cases, one folder per feature: tests/cases/<feature>/specs/ renders to tests/cases/<feature>/expected/.

The invariant tests elsewhere prove properties (alerts fire, nothing mutes a
page); these show a reviewer, file by file, what a change does to the output
of a small spec. After an intended change, rewrite them with
`make goldens` (= `pytest tests/test_cases.py --update-goldens`) and review the diff.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from generator.pipeline import render_specs

CASES = Path(__file__).resolve().parent / "cases"
FEATURES = sorted(path.name for path in CASES.iterdir() if (path / "specs").is_dir())


def _expected_files(expected: Path) -> dict[str, str]:
    if not expected.is_dir():
        return {}
    return {
        path.relative_to(expected).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(expected.rglob("*"))
        if path.is_file()
    }


def _write_expected(expected: Path, tree: dict[str, str]) -> None:
    if expected.exists():
        shutil.rmtree(expected)
    for name, text in tree.items():
        path = expected / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _first_difference(rendered: dict[str, str], expected: dict[str, str]) -> str:
    missing = sorted(set(expected) - set(rendered))
    extra = sorted(set(rendered) - set(expected))
    if missing or extra:
        return f"files no longer rendered: {missing}; files rendered but not expected: {extra}"
    for name in sorted(rendered):
        if rendered[name] != expected[name]:
            diff = difflib.unified_diff(
                expected[name].splitlines(),
                rendered[name].splitlines(),
                f"expected/{name}",
                f"rendered/{name}",
                lineterm="",
            )
            return "\n".join(list(diff)[:60])
    return ""


def test_every_case_folder_has_specs_and_expected_output() -> None:
    assert len(FEATURES) >= 6, FEATURES
    for feature in FEATURES:
        assert (CASES / feature / "expected").is_dir(), f"{feature}: run `make goldens` and commit expected/"


@pytest.mark.parametrize("feature", FEATURES)
def test_case_renders_its_expected_output(feature: str, request: pytest.FixtureRequest) -> None:
    case = CASES / feature
    rendered = render_specs(case / "specs")
    if request.config.getoption("--update-goldens"):
        _write_expected(case / "expected", rendered)
    difference = _first_difference(rendered, _expected_files(case / "expected"))
    assert not difference, f"{feature}: the output changed; if intended, run `make goldens` and review\n{difference}"
