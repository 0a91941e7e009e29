"""The route tree sloforge owns: sloforge alerts -> team -> notify class.

Routes are built as data with structured matchers so the same tree is both
rendered to YAML and walked in Python (`resolve`) for the render-time checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.model.slo import Model, Team
from generator.targets import labels as L
from generator.targets.alertmanager.names import (
    DEFAULT_TIMING,
    NOTIFY_CLASSES,
    Timing,
    business_hours_name,
    receiver_name,
)

GROUP_BY = (L.SERVICE, L.SLO, L.ALERTNAME)  # one notification per SLO and tier


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str

    def text(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'

    def matches(self, labels: dict[str, str]) -> bool:
        """Alertmanager semantics: a missing label is the empty string; regexes are anchored."""
        value = labels.get(self.label, "")
        if self.op in ("=", "!="):
            return (value == self.value) == (self.op == "=")
        return (re.fullmatch(self.value, value) is not None) == (self.op == "=~")


@dataclass(frozen=True)
class Route:
    matchers: tuple[Matcher, ...] = ()
    receiver: str | None = None  # None: inherited from the parent
    group_by: tuple[str, ...] = ()
    timing: Timing | None = None
    active_time_intervals: tuple[str, ...] = ()
    continue_: bool = False
    routes: tuple[Route, ...] = field(default=())

    def to_dict(self) -> dict:
        data: dict = {}
        if self.matchers:
            data["matchers"] = [matcher.text() for matcher in self.matchers]
        if self.receiver is not None:
            data["receiver"] = self.receiver
        if self.group_by:
            data["group_by"] = list(self.group_by)
        if self.timing is not None:
            data["group_wait"] = self.timing.group_wait
            data["group_interval"] = self.timing.group_interval
            data["repeat_interval"] = self.timing.repeat_interval
        if self.active_time_intervals:
            data["active_time_intervals"] = list(self.active_time_intervals)
        if self.continue_:
            data["continue"] = True
        if self.routes:
            data["routes"] = [route.to_dict() for route in self.routes]
        return data


def sloforge_route(model: Model) -> Route:
    """The one route to place first under the root: every sloforge alert, split by team.

    It names no receiver, so an alert no team route takes falls back to the
    root's default receiver.
    """
    teams = tuple(route for route in (team_route(team) for team in model.teams) if route is not None)
    return Route(matchers=(Matcher(L.SERVICE, "=~", ".+"),), group_by=GROUP_BY, routes=teams)


def team_route(team: Team) -> Route | None:
    children: list[Route] = []
    for notify in NOTIFY_CLASSES:
        if not team.receivers_for(notify):
            continue
        timing = team_timing(team, notify)
        if notify == "info":
            # A copy of every alert of the team; `continue` lets it go on to page/ticket.
            children.insert(0, Route(receiver=receiver_name(team.name, notify), timing=timing, continue_=True))
            continue
        active = (business_hours_name(team.name),) if notify == "ticket" and team.business_hours is not None else ()
        children.append(
            Route(
                matchers=(Matcher(L.NOTIFY, "=", notify),),
                receiver=receiver_name(team.name, notify),
                timing=timing,
                active_time_intervals=active,
            )
        )
    if not children:
        return None
    return Route(matchers=(Matcher(L.TEAM, "=", team.name),), routes=tuple(children))


def team_timing(team: Team, notify: str) -> Timing:
    default = DEFAULT_TIMING[notify]
    return Timing(
        group_wait=default.group_wait,
        group_interval=dict(team.group_interval).get(notify, default.group_interval),
        repeat_interval=dict(team.repeat_interval).get(notify, default.repeat_interval),
    )


def resolve(route: Route, labels: dict[str, str], inherited: str) -> list[tuple[str, tuple[Route, ...]]]:
    """Receivers an alert reaches below `route`, in order, each with its path of routes.

    Mirrors Alertmanager's dispatcher: children are tried in order, a match
    stops the search unless it has `continue`, and a route whose children all
    miss delivers to its own (possibly inherited) receiver.
    """
    if not all(matcher.matches(labels) for matcher in route.matchers):
        return []
    receiver = route.receiver or inherited
    found: list[tuple[str, tuple[Route, ...]]] = []
    for child in route.routes:
        below = resolve(child, labels, receiver)
        if below:
            found.extend((name, (route, *path)) for name, path in below)
            if not child.continue_:
                break
    return found or [(receiver, (route,))]
