"""Specs directory -> Model -> rendered tree: the stages of DESIGN.md in order."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from generator.ai.drafts import with_drafts
from generator.ai.store import draft_files, read_draft_file
from generator.model.build import build_model
from generator.model.slo import Model
from generator.spec import SpecError, SpecErrors, load_specs, validate
from generator.spec.alertmanager_base import with_alertmanager_base
from generator.targets import RENDERERS, render_all, render_with
from generator.targets.rule_tests import render_rule_tests

# Below this many SLOs a second process costs more than it saves.
PARALLEL_MIN_SLOS = 500
_forked_model: Model | None = None  # handed to the forked worker by memory, not by pickling


def load_model(specs: Path, policy: Path | None = None, settings: dict[str, str] | None = None) -> Model:
    """Raises SpecErrors (every problem at once: specs, drafts, base config) for bad input."""
    spec_set = load_specs(specs, extra_files=(policy,) if policy else ())
    try:
        validate(spec_set)
    except SpecErrors as exc:
        # Drafts and the base config are checked against the model; what can be checked without it is reported now.
        _, later = _attach(Model((), ()), specs)
        raise SpecErrors(exc.errors + later) from None
    model, errors = _attach(build_model(spec_set, settings), specs)
    if errors:
        raise SpecErrors(errors)
    return model


def _attach(model: Model, specs: Path) -> tuple[Model, list[SpecError]]:
    """Reviewed-or-not AI prose (read offline) and slo_specs/alertmanager.base.yml, with both their errors."""
    errors: list[SpecError] = []
    for step in (_with_drafts, with_alertmanager_base):
        try:
            model = step(model, specs)
        except SpecErrors as exc:
            errors += exc.errors
    return model, errors


def _with_drafts(model: Model, specs: Path) -> Model:
    """Without SLOs (the specs have errors) only the draft files themselves can be checked."""
    if model.services:
        return with_drafts(model, specs)
    for path in draft_files(specs):
        read_draft_file(path, specs)
    return model


def render_tree(model: Model) -> dict[str, str]:
    """`render_all`, spread over two processes for large fleets (this machine class has two cores).

    Rule tests, the heaviest renderer, run here (so their warnings stay cached
    for the CLI); the other renderers run in a forked process. Same output.
    """
    if len(model.slos) < PARALLEL_MIN_SLOS or "fork" not in multiprocessing.get_all_start_methods():
        return render_all(model)
    global _forked_model
    _forked_model = model
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            others = pool.submit(_render_others)
            tree = render_with(model, (render_rule_tests,))
            rest = others.result()
    finally:
        _forked_model = None
    overlap = set(tree) & set(rest)
    if overlap:
        raise ValueError(f"two renderers produce {sorted(overlap)[0]}")
    return dict(sorted({**tree, **rest}.items()))


def _render_others() -> dict[str, str]:
    assert _forked_model is not None
    return render_with(_forked_model, tuple(r for r in RENDERERS if r is not render_rule_tests))


def render_specs(specs: Path, policy: Path | None = None, settings: dict[str, str] | None = None) -> dict[str, str]:
    return render_tree(load_model(specs, policy, settings))
