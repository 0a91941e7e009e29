"""Shared fixtures: the example specs rendered once into a temp dir, tool paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "slo_specs"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def example_model():
    return load_model(SPECS)


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory, example_model) -> Path:
    """A fresh render of slo_specs/ (tests never write into the committed rendered/)."""
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
