"""Specs directory -> Model -> rendered tree: the stages of DESIGN.md in order."""

from __future__ import annotations

from pathlib import Path

from generator.ai.drafts import with_drafts
from generator.model.build import build_model
from generator.model.slo import Model
from generator.spec import load_specs, validate
from generator.spec.alertmanager_base import with_alertmanager_base
from generator.targets import render_all


def load_model(specs: Path, policy: Path | None = None, settings: dict[str, str] | None = None) -> Model:
    """Raises SpecErrors (every problem at once) for bad input."""
    spec_set = load_specs(specs, extra_files=(policy,) if policy else ())
    validate(spec_set)
    model = with_drafts(build_model(spec_set, settings), specs)  # reviewed-or-not AI prose, read offline
    return with_alertmanager_base(model, specs)  # slo_specs/alertmanager.base.yml, when present


def render_specs(specs: Path, policy: Path | None = None, settings: dict[str, str] | None = None) -> dict[str, str]:
    return render_all(load_model(specs, policy, settings))
