"""Render-time consistency checks of the routing: pure, returning warning text or findings.

They walk the same route tree that is rendered (`routes.resolve`) with every
alert the rules renderer emits, so a gap shows up before Alertmanager runs.
`silent_pages` finds pages that would notify nobody; the pipeline makes them
spec errors unless the Policy accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.slo import Model
from generator.targets import labels as L
from generator.targets.alertmanager.alerts import generated_alerts
from generator.targets.alertmanager.config import default_receiver, full_config
from generator.targets.alertmanager.names import receiver_name
from generator.targets.alertmanager.routes import Route, resolve, sloforge_route

PREFIX = "alertmanager: "


def consistency_warnings(model: Model) -> list[str]:
    warnings: list[str] = []
    default = default_receiver(model)
    tree = sloforge_route(model)
    reached: set[str] = set()
    matched: set[int] = set()
    for alert in generated_alerts(model):
        results = resolve(tree, alert.label_map, default)
        for receiver, path in results:
            reached.add(receiver)
            matched.update(id(route) for route in path)
        if [receiver for receiver, _ in results] == [default]:
            labels = alert.label_map
            warnings.append(
                f"{alert.name} reaches only the default receiver {default!r}: "
                f"team {labels[L.TEAM]!r} has no {labels[L.NOTIFY]!r} receiver"
            )
    for path in _routes_with_matchers(tree, ()):
        if id(path[-1]) not in matched:
            where = " > ".join(m.text() for route in path for m in route.matchers)
            warnings.append(f"route {where} matches no generated alert")
    for team in model.teams:
        for notify, found in team.receivers:
            name = receiver_name(team.name, notify)
            if found and name not in reached:
                warnings.append(f"receiver {name!r} of team {team.name!r} receives no alert")
            for config in found:
                if config.type == "webhook" and config.get("url_file") is not None:
                    warnings.append(
                        f"receiver {name!r}: webhook url_file needs Alertmanager 0.26 or later (0.25 rejects it)"
                    )
    for service in model.services:
        if model.team(service.team) is None:
            warnings.append(f"service {service.name!r} names team {service.team!r}, which no Teams document defines")
    for silent in silent_pages(model):  # errors unless the Policy accepts them
        warnings.append(f"{silent.text()} (accepted by the Policy's allow_silent_pages)")
    if model.settings.alertmanager_output == "subtree" and model.settings.alertmanager_base:
        warnings.append(f"{model.settings.alertmanager_base_source} is not used: alertmanager_output is 'subtree'")
    return [PREFIX + text for text in warnings]


def _routes_with_matchers(route: Route, parents: tuple[Route, ...]) -> list[tuple[Route, ...]]:
    path = (*parents, route)
    found = [path] if route.matchers else []
    for child in route.routes:
        found.extend(_routes_with_matchers(child, path))
    return found


@dataclass(frozen=True)
class SilentPage:
    """A team whose page alerts reach only receivers that notify nobody."""

    team: str
    alert: str  # one such alert, for the message
    receivers: tuple[str, ...]

    def text(self) -> str:
        names = ", ".join(repr(name) for name in self.receivers)
        return f"team {self.team!r}: pages (e.g. {self.alert}) reach only {names}, which has no integrations"

    def advice(self) -> str:
        return (
            "nobody would be paged; give the team a `page:` receiver, or accept it explicitly with "
            f"`allow_silent_pages: [{self.team}]` under the Policy's settings"
        )


def silent_pages(model: Model) -> list[SilentPage]:
    """Teams whose pages end at receivers without integrations, where the config shows them (full mode).

    In subtree mode the root receiver is the including config's, unknown here.
    """
    unpaged = {team.name for team in model.teams if not team.receivers_for("page")}
    if model.settings.alertmanager_output != "full" or not unpaged:
        return []  # a team's own page receiver always has an integration (the schema requires one)
    integrations = {
        entry["name"]: any(key.endswith("_configs") and value for key, value in entry.items())
        for entry in full_config(model).get("receivers", [])
        if isinstance(entry, dict) and "name" in entry
    }
    default = default_receiver(model)
    tree = sloforge_route(model)
    found: dict[str, SilentPage] = {}
    for alert in generated_alerts(model):
        labels = alert.label_map
        if labels[L.NOTIFY] != "page" or labels[L.TEAM] in found or labels[L.TEAM] not in unpaged:
            continue
        receivers = tuple(dict.fromkeys(name for name, _ in resolve(tree, labels, default)))
        if not any(integrations.get(name, False) for name in receivers):
            found[labels[L.TEAM]] = SilentPage(labels[L.TEAM], alert.name, receivers)
    return list(found.values())
