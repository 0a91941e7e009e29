"""Shared fixtures: the project's test specs (tests/fixtures/specs/, never the user's slo_specs/)
rendered once into a temp dir, tool paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fixture_paths import SPECS

from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all

REPO = Path(__file__).resolve().parent.parent
# The suite runs on one worker per core, each running promtool on a pool: on a
# loaded machine a test file can outlast the default 300 s wall-clock limit.
os.environ.setdefault("SLOFORGE_TOOL_TIMEOUT", "1800")


@pytest.fixture(scope="session", autouse=True)
def proof_cache_of_this_run(tmp_path_factory) -> Path:
    """One `SLOFORGE_CACHE_DIR` for the whole run, shared by the xdist workers (`generator.tools.proof_cache`).

    Many tests run promtool on byte-identical generated tests (every mutation
    test re-proves the untouched original first); a pass on the same bytes is
    proven once per run. Never carried over from an earlier run.
    """
    base = tmp_path_factory.getbasetemp()
    run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = run_dir / "proof-cache"
    os.environ["SLOFORGE_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    """The test specs: read them, or copy them into tmp_path to change them."""
    return SPECS


@pytest.fixture(scope="session")
def example_model():
    return load_model(SPECS)


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory, example_model) -> Path:
    """A fresh render of the test specs (tests never read or write the committed rendered/)."""
    out = tmp_path_factory.mktemp("rendered") / "rendered"
    write_tree(render_all(example_model), out)
    return out


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(
            f"{name} is not installed; `make test` installs it (apt-get install prometheus prometheus-alertmanager)"
        )
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _tool("amtool")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/cases/*/expected/ from a fresh render (then review the diff)",
    )
