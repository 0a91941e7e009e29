"""Deployment formats: the same rule groups packaged for the Prometheus Operator,
Mimir/Cortex and Thanos rulers, rendered beside the plain `prometheus/rules/`.

The plain files stay in every format: the generated rule tests and
`sloforge validate` run on them, and each format embeds the same groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from generator.model.slo import Model
from generator.targets.deploy.groups import ServiceGroups, service_groups
from generator.targets.deploy.operator import operator_errors, render_operator
from generator.targets.deploy.ruler import render_cortex, render_mimir
from generator.targets.deploy.thanos import render_thanos
from generator.targets.rendered import Rendered

FORMAT_RENDERERS: dict[str, Callable[[Model, ServiceGroups], dict[str, str]]] = {
    "operator": render_operator,
    "mimir": render_mimir,
    "cortex": render_cortex,
    "thanos": render_thanos,
}
PLAIN_FORMAT = "prometheus"  # prometheus/rules/ only; always rendered

__all__ = ["FORMAT_RENDERERS", "PLAIN_FORMAT", "operator_errors", "render_deploy", "with_formats"]


def render_deploy(model: Model) -> Rendered:
    """Every format the settings ask for; nothing by default, so `rendered/` keeps its plain layout."""
    if not model.settings.deploy_formats:
        return Rendered()
    groups = service_groups(model)  # built once, shared read-only by every format
    tree: dict[str, str] = {}
    for name in model.settings.deploy_formats:
        tree.update(FORMAT_RENDERERS[name](model, groups))
    return Rendered(tree)


def with_formats(model: Model, formats: Iterable[str]) -> Model:
    """The model with `render --format` choices in place of the Policy's `deploy.formats`."""
    chosen = tuple(sorted({name for name in formats if name != PLAIN_FORMAT}))
    return dataclasses.replace(model, settings=dataclasses.replace(model.settings, deploy_formats=chosen))
