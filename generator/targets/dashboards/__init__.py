"""Grafana dashboards: one per service (a row per SLO) and a fleet overview.

Built with grafana-foundation-sdk's classic dashboard model, the format Grafana
file provisioning loads; serialized with sorted keys so re-renders are
byte-identical.
"""

from __future__ import annotations

from generator.model.slo import Model
from generator.targets.dashboards.overview import overview_dashboard
from generator.targets.dashboards.panels import to_json
from generator.targets.dashboards.service import service_dashboard
from generator.targets.links import dashboard_path, overview_path
from generator.targets.rendered import Rendered


def render_dashboards(model: Model) -> Rendered:
    tree = {
        dashboard_path(service.name): to_json(service_dashboard(service, model.settings)) for service in model.services
    }
    tree[overview_path()] = to_json(overview_dashboard(model))
    return Rendered(tree)
