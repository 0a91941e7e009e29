"""Configuration the headless demo writes: pure functions from ports and paths to dicts."""

from __future__ import annotations

import copy
from typing import Any

FAST_ROUTE_TIMING = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1m"}
TIME_BASED = ("active_time_intervals", "mute_time_intervals")


def prometheus_config(exporter: str, alertmanager: str, rule_files: list[str], interval: str = "1s") -> dict:
    """Scrape the demo workload, evaluate the rendered rules, send alerts to the demo Alertmanager.

    `honor_labels` keeps the exporter's own `job` labels, which the specs' queries select on.
    """
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": "demo-workload", "honor_labels": True, "static_configs": [{"targets": [exporter]}]}
        ],
    }


def demo_alertmanager_config(rendered: dict | None, webhook_url: str) -> dict:
    """The rendered routing tree with every receiver replaced by a webhook to `webhook_url`.

    Routing, grouping and inhibition stay as rendered; only delivery changes,
    timings shrink to seconds and business-hours muting is dropped so a page
    arrives whenever the demo runs. Without a rendered config, one route.
    """
    config: dict[str, Any] = (
        copy.deepcopy(rendered) if rendered else {"route": {"receiver": "demo"}, "receivers": [{"name": "demo"}]}
    )
    config["global"] = {"resolve_timeout": "1m"}
    for key in ("templates", "time_intervals", "mute_time_intervals"):
        config.pop(key, None)
    receivers = []
    for receiver in config.get("receivers", []):
        delivers = any(key.endswith("_configs") for key in receiver)
        replaced: dict = {"name": receiver["name"]}
        if delivers:  # a receiver without configs (a blackhole) stays silent
            replaced["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
        receivers.append(replaced)
    config["receivers"] = receivers
    config["route"] = _fast(config["route"], root=True)
    return config


def _fast(route: dict, root: bool = False) -> dict:
    route = {key: value for key, value in route.items() if key not in TIME_BASED}
    for key, value in FAST_ROUTE_TIMING.items():
        if root or key in route:
            route[key] = value
    if "routes" in route:
        route["routes"] = [_fast(child) for child in route["routes"]]
    return route
