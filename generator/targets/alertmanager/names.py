"""Names and paths of the Alertmanager artifacts: receivers, intervals, files."""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.slo import Model

AM_DIR = "alertmanager"
CONFIG_PATH = f"{AM_DIR}/alertmanager.yml"  # full mode
SUBTREE_PATH = f"{AM_DIR}/sloforge-subtree.yml"  # subtree mode
ROUTING_TESTS_PATH = f"{AM_DIR}/routing-tests.yaml"
INHIBITION_TESTS_PATH = f"{AM_DIR}/inhibition-tests.yaml"
TEMPLATES_DIR = f"{AM_DIR}/templates"
TEMPLATE_FILE = "sloforge.tmpl"
TEMPLATES_GLOB = "templates/*.tmpl"  # relative to the config file, as Alertmanager resolves it

DEFAULT_RECEIVER = "sloforge-default"  # catch-all when no base config names one
NOTIFY_CLASSES = ("page", "ticket", "info")
OUTPUT_MODES = ("full", "subtree")


def receiver_name(team: str, notify: str) -> str:
    return f"{team}-{notify}"


def business_hours_name(team: str) -> str:
    return f"{team}-business-hours"


@dataclass(frozen=True)
class Timing:
    """Notification pacing of one notify class."""

    group_wait: str
    group_interval: str
    repeat_interval: str


# The usual policy: pages re-notify within the hour while unresolved; tickets
# are a work queue, reminded twice a day at most; info is a digest.
DEFAULT_TIMING: dict[str, Timing] = {
    "page": Timing("30s", "5m", "1h"),
    "ticket": Timing("2m", "30m", "12h"),
    "info": Timing("5m", "1h", "24h"),
}


def generated_names(model: Model) -> dict[str, set[str]]:
    """Receiver and time-interval names sloforge generates (a base config may not reuse them)."""
    receivers: set[str] = set()
    intervals: set[str] = set()
    for team in model.teams:
        receivers.update(receiver_name(team.name, notify) for notify, found in team.receivers if found)
        if team.business_hours is not None:
            intervals.add(business_hours_name(team.name))
    return {"receivers": receivers, "time_intervals": intervals}
