"""Specs directory -> Model -> rendered tree: the stages of docs/design.md in order."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from generator.ai.drafts import with_drafts
from generator.ai.store import draft_files, read_draft_file
from generator.model.build import build_model
from generator.model.slo import Model
from generator.model.validate import validate
from generator.spec import SpecError, SpecErrors, SpecSet, load_specs, secrets
from generator.spec.load import display_name
from generator.spec.validate import team_error
from generator.spec.yaml_source import parse_documents
from generator.targets import RENDERERS, render_model, render_with
from generator.targets.alertmanager.base import receiver_global_errors, with_alertmanager_base
from generator.targets.alertmanager.base_inhibit import page_muting_rules
from generator.targets.alertmanager.checks import silent_pages
from generator.targets.collisions import output_collisions
from generator.targets.rendered import Rendered, combined
from generator.targets.rule_tests import render_rule_tests

# Below this many SLOs a second process costs more than it saves.
PARALLEL_MIN_SLOS = 500
_forked_model: Model | None = None  # handed to the forked worker by memory, not by pickling


def load_model(
    specs: Path,
    policy: Path | None = None,
    settings: dict[str, str] | None = None,
    include_unreviewed_drafts: bool = False,
) -> Model:
    """Raises SpecErrors (every problem at once: specs, drafts, base config) for bad input."""
    if errors := secrets.override_errors(settings or {}):
        raise SpecErrors(errors)
    spec_set = load_specs(specs, extra_files=(policy,) if policy else ())
    try:
        validate(spec_set, extra_checks=(output_collisions, receiver_global_errors))
    except SpecErrors as exc:
        # Drafts and the base config are checked against the model; what can be checked without it is reported now.
        _, later = _attach(Model((), ()), specs, include_unreviewed_drafts)
        raise SpecErrors(exc.errors + later) from None
    model, errors = _attach(build_model(spec_set, settings), specs, include_unreviewed_drafts)
    if errors:
        raise SpecErrors(errors)
    _refuse_silent_pages(model, spec_set)
    if errors := _base_inhibit_errors(model, specs):
        raise SpecErrors(errors)
    return model


def _base_inhibit_errors(model: Model, specs: Path) -> list[SpecError]:
    """Inhibit rules of alertmanager.base.yml that could mute a sloforge page, at their positions."""
    if not model.settings.alertmanager_base:
        return []
    path = specs / Path(model.settings.alertmanager_base_source).name
    documents, errors = parse_documents(model.settings.alertmanager_base, display_name(path, specs))
    if errors or len(documents) != 1:
        return []  # already reported when the base was read
    base = documents[0]
    return [base.error(key, message) for key, message in page_muting_rules(base.data, model)]


def _attach(model: Model, specs: Path, include_unreviewed_drafts: bool) -> tuple[Model, list[SpecError]]:
    """Reviewed AI prose (unreviewed too only when asked, read offline) and slo_specs/alertmanager.base.yml,
    with both their errors."""
    errors: list[SpecError] = []
    try:
        model = _with_drafts(model, specs, include_unreviewed_drafts)
    except SpecErrors as exc:
        errors += exc.errors
    try:
        model = with_alertmanager_base(model, specs)
    except SpecErrors as exc:
        errors += exc.errors
    return model, errors


def _with_drafts(model: Model, specs: Path, include_unreviewed_drafts: bool) -> Model:
    """Without SLOs (the specs have errors) only the draft files themselves can be checked."""
    if model.services:
        return with_drafts(model, specs, include_unreviewed_drafts)
    for path in draft_files(specs):
        read_draft_file(path, specs)
    return model


def _refuse_silent_pages(model: Model, spec_set: SpecSet) -> None:
    """A team whose pages notify nobody is an error at the team, unless the Policy accepts it by name."""
    errors = [
        team_error(spec_set, silent.team, f"{silent.text()}: {silent.advice()}")
        for silent in silent_pages(model)
        if not model.settings.allows_silent_pages(silent.team)
    ]
    if errors:
        raise SpecErrors(errors)


def render_tree(model: Model) -> Rendered:
    """`render_model`, spread over two processes for large fleets (this machine class has two cores).

    Rule tests, the heaviest renderer, run here; the other renderers run in a
    forked process. Same files, same warnings.
    """
    if len(model.slos) < PARALLEL_MIN_SLOS or "fork" not in multiprocessing.get_all_start_methods():
        return render_model(model)
    global _forked_model
    _forked_model = model
    try:
        with ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            others = pool.submit(render_in_worker)
            tree = render_with(model, (render_rule_tests,))
            rest = others.result()
    finally:
        _forked_model = None
    return combined((tree, rest))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Worker initializer: a killed `sloforge render` must not leave its renderer running."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:  # no parent-death signal: watch for being re-parented
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def render_in_worker() -> Rendered:
    """What the forked worker renders: everything but the rule tests (a test replaces it to stall a render)."""
    assert _forked_model is not None
    return render_with(_forked_model, tuple(r for r in RENDERERS if r is not render_rule_tests))


def render_specs(specs: Path, policy: Path | None = None, settings: dict[str, str] | None = None) -> dict[str, str]:
    """The files a render of `specs` writes."""
    return render_tree(load_model(specs, policy, settings)).files
