"""Layers point one way (docs/design.md): no module imports from a layer above its own.

units -> spec -> model -> renderers -> edges. A module may import its own
layer and any layer below it. Every module under generator/ is parsed with
`ast` (nothing is imported), including imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "generator"

# Lowest first. A module belongs to the first prefix that matches its dotted name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("units", ("generator.units",)),
    ("spec", ("generator.spec",)),
    ("model", ("generator.model",)),
    ("renderers", ("generator.targets", "generator.importers")),
    # Orchestration and I/O: the CLI, the pipeline, output, tools, live, ai, demo, scaffold.
    ("edges", ("generator",)),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def layer_of(module: str) -> str:
    for name, prefixes in LAYERS:
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return name
    raise ValueError(f"{module} is not part of the generator package")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted name) of every project import, relative ones resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # `from generator.model import slo` imports generator.model.slo: the layer is the same either way.
            found.append((node.lineno, base))
    return [(line, name) for line, name in found if name == "generator" or name.startswith("generator.")]


def violations(source: str, module: str, is_package: bool = False, where: str = "<source>") -> list[str]:
    own = layer_of(module)
    problems = []
    for line, target in imported_modules(ast.parse(source), module, is_package):
        other = layer_of(target)
        if RANK[other] > RANK[own]:
            problems.append(f"{where}:{line}: {module} ({own}) imports {target} ({other}), a layer above it")
    return problems


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in all_modules():
        layer_of(module_name(path))


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    for path in all_modules():
        problems += violations(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
            where=str(path.relative_to(ROOT)),
        )
    assert not problems, "imports against the layers (docs/design.md):\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "offender"),
    [
        ("generator.spec.validate", "from generator.model.policy import DEFAULT_TIERS\n", "generator.model.policy"),
        ("generator.units.durations", "import generator.spec.errors\n", "generator.spec.errors"),
        ("generator.model.build", "def f():\n    from generator.targets import labels\n", "generator.targets"),
        ("generator.targets.rules", "from generator import output\n", "generator"),
        ("generator.model.slo", "from ..targets.labels import SLO_SERVICE\n", "generator.targets.labels"),
    ],
)
def test_the_rule_catches_an_import_from_above(module, source, offender):
    problems = violations(source, module)
    assert len(problems) == 1 and f"imports {offender} " in problems[0]


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("generator.model.build", "from generator.spec.load import SpecSet\n"),
        ("generator.cli", "from generator.targets import render_all\n"),
        ("generator.spec.load", "from generator.units.durations import parse_duration\n"),
        ("generator.targets.rules", "from generator.targets.labels import SLO_SERVICE\n"),
    ],
)
def test_imports_from_below_or_beside_pass(module, source):
    assert violations(source, module) == []
