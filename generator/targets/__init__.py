"""Renderers: pure functions from the Model to {relative path: text}."""

from __future__ import annotations

from collections.abc import Callable

from generator.model.slo import Model
from generator.targets.rules import render_rules

Renderer = Callable[[Model], dict[str, str]]

# Order does not matter for the output; it is the order the README lists them.
RENDERERS: tuple[Renderer, ...] = (render_rules,)


def render_all(model: Model) -> dict[str, str]:
    tree: dict[str, str] = {}
    for renderer in RENDERERS:
        for path, text in renderer(model).items():
            if path in tree:
                raise ValueError(f"two renderers produce {path}")
            tree[path] = text
    return dict(sorted(tree.items()))
