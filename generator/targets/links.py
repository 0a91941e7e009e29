"""Where alerts link to: runbooks and dashboards, relative or under a base URL."""

from __future__ import annotations

import hashlib

from generator.model.slo import SLO, Settings

RUNBOOKS_DIR = "runbooks"
DASHBOARDS_DIR = "grafana/dashboards"


def runbook_path(slo: SLO) -> str:
    """Path of the SLO's runbook inside the rendered tree."""
    return f"{RUNBOOKS_DIR}/{slo.service}/{slo.name}.md"


OVERVIEW_NAME = "slo-overview"  # rendered/grafana/dashboards/slo-overview.json
OVERVIEW_UID = "sloforge-overview"  # cannot clash with `slo-<service>` uids
UID_MAX = 40  # Grafana's limit
SLO_VARIABLE = "slo"  # the service dashboards' variable that narrows them to one SLO's row


def dashboard_path(service: str) -> str:
    """The service's dashboard file; a service named like the overview gets a suffix instead of clashing."""
    name = f"{service}-service" if service == OVERVIEW_NAME else service
    return f"{DASHBOARDS_DIR}/{name}.json"


def overview_path() -> str:
    return f"{DASHBOARDS_DIR}/{OVERVIEW_NAME}.json"


def dashboard_uid(service: str) -> str:
    """Stable Grafana uid derived from the service name: `slo-<service>`, hashed when too long.

    Truncating alone would give two long names with a common prefix one uid.
    """
    uid = f"slo-{service}"
    if len(uid) <= UID_MAX:
        return uid
    digest = hashlib.sha256(service.encode()).hexdigest()[:8]
    return f"{uid[: UID_MAX - 9]}-{digest}"


def grafana_path(uid: str, slug: str) -> str:
    """Path of a dashboard inside Grafana (`/d/<uid>/<slug>`), for links between dashboards."""
    return f"/d/{uid}/{slug}"


def slo_row_anchor(slo: SLO) -> str:
    """Row id of an SLO in its service dashboard: the fragment of file links, the title prefix of the row."""
    return slo.name


def runbook_url(settings: Settings, slo: SLO) -> str:
    return _join(settings.runbook_base_url, runbook_path(slo))


def dashboard_url(settings: Settings, slo: SLO) -> str:
    """Grafana link to the SLO's row when a base URL is set, else the rendered JSON file."""
    if settings.dashboard_base_url:
        base = settings.dashboard_base_url.rstrip("/")
        return f"{base}{grafana_path(dashboard_uid(slo.service), slo.service)}?var-{SLO_VARIABLE}={slo.name}"
    return dashboard_path(slo.service) + f"#{slo_row_anchor(slo)}"


def _join(base: str, path: str) -> str:
    if not base:
        return path
    return base.rstrip("/") + "/" + path
