"""Where alerts link to: runbooks and dashboards, relative or under a base URL."""

from __future__ import annotations

from generator.model.slo import SLO, Settings

RUNBOOKS_DIR = "runbooks"
DASHBOARDS_DIR = "grafana/dashboards"


def runbook_path(slo: SLO) -> str:
    """Path of the SLO's runbook inside the rendered tree."""
    return f"{RUNBOOKS_DIR}/{slo.service}/{slo.name}.md"


def dashboard_path(service: str) -> str:
    return f"{DASHBOARDS_DIR}/{service}.json"


def dashboard_uid(service: str) -> str:
    """Stable Grafana uid derived from the service name (Grafana allows 40 chars)."""
    return f"slo-{service}"[:40]


def runbook_url(settings: Settings, slo: SLO) -> str:
    return _join(settings.runbook_base_url, runbook_path(slo))


def dashboard_url(settings: Settings, slo: SLO) -> str:
    """Grafana link to the SLO's row when a base URL is set, else the rendered JSON file."""
    if settings.dashboard_base_url:
        base = settings.dashboard_base_url.rstrip("/")
        return f"{base}/d/{dashboard_uid(slo.service)}/{slo.service}?var-slo={slo.name}"
    return dashboard_path(slo.service) + f"#{slo.name}"


def _join(base: str, path: str) -> str:
    if not base:
        return path
    return base.rstrip("/") + "/" + path
