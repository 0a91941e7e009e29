"""Assemble the Alertmanager config: sloforge's parts, alone or merged into a base.

Full mode keeps everything of the hand-written base (global, its routes,
receivers, inhibit rules, templates) and puts sloforge's route first under the
root, so SLO alerts are routed by sloforge and everything else as before.
"""

from __future__ import annotations

import copy

import yaml

from generator.model.slo import Model
from generator.spec.schema import BusinessHours
from generator.targets.alertmanager.inhibit import inhibit_rules
from generator.targets.alertmanager.names import DEFAULT_RECEIVER, TEMPLATES_GLOB, business_hours_name
from generator.targets.alertmanager.receivers import team_receivers
from generator.targets.alertmanager.routes import GROUP_BY, sloforge_route

KEY_ORDER = ("global", "templates", "route", "inhibit_rules", "receivers", "time_intervals", "mute_time_intervals")


def base_config(model: Model) -> dict | None:
    """The parsed base config when it applies (full mode and a base file present)."""
    if model.settings.alertmanager_output != "full" or not model.settings.alertmanager_base:
        return None
    data = yaml.safe_load(model.settings.alertmanager_base)
    return data if isinstance(data, dict) else {}


def default_receiver(model: Model) -> str:
    """Where alerts no team route takes end up: the base's root receiver, else sloforge's."""
    base = base_config(model)
    route = (base or {}).get("route") or {}
    return str(route.get("receiver") or DEFAULT_RECEIVER)


def sloforge_parts(model: Model) -> dict:
    """Route, receivers, inhibit rules, time intervals and templates sloforge generates."""
    return {
        "route": sloforge_route(model).to_dict(),
        "receivers": [entry for team in model.teams for entry in team_receivers(team)],
        "inhibit_rules": inhibit_rules(model),
        "time_intervals": [
            business_hours(team.name, team.business_hours) for team in model.teams if team.business_hours is not None
        ],
        "templates": [TEMPLATES_GLOB],
    }


def business_hours(team: str, hours: BusinessHours) -> dict:
    interval = {
        "weekdays": list(hours.weekdays),
        "times": [{"start_time": t.start_time, "end_time": t.end_time} for t in hours.times],
        "location": hours.location,
    }
    return {"name": business_hours_name(team), "time_intervals": [interval]}


def full_config(model: Model) -> dict:
    parts = sloforge_parts(model)
    base = copy.deepcopy(base_config(model) or {})
    merged: dict = {}
    if "route" in base:
        root = dict(base["route"])
        root["routes"] = [parts["route"], *(root.get("routes") or [])]
    else:
        root = {"receiver": DEFAULT_RECEIVER, "group_by": list(GROUP_BY), "routes": [parts["route"]]}
        parts["receivers"].insert(0, {"name": DEFAULT_RECEIVER})
    merged["route"] = root
    for key in ("templates", "inhibit_rules", "receivers", "time_intervals"):
        combined = list(base.get(key) or []) + parts[key]
        if combined:
            merged[key] = combined
    for key, value in base.items():
        merged.setdefault(key, value)
    ordered = {key: merged[key] for key in KEY_ORDER if key in merged}
    ordered.update((key, value) for key, value in merged.items() if key not in ordered)
    return ordered


def subtree_config(model: Model) -> dict:
    return {key: value for key, value in sloforge_parts(model).items() if value}
