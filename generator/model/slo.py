"""Normalized SLO objects: what every renderer consumes.

Built from validated specs by `model.build`; immutable, ordered, and free of
YAML details, so renderers stay pure functions from these objects to text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from generator.model.budget_policy import DEFAULT_STAGES, BudgetStage
from generator.model.drafted import DraftedProse
from generator.spec.defaults import DEFAULT_EVALUATION_INTERVAL, DEFAULT_SECRETS_DIR
from generator.spec.schema import BusinessHours
from generator.units.durations import Duration, parse_duration

NotifyClass = Literal["page", "ticket"]


@dataclass(frozen=True)
class Tier:
    """One multi-window burn-rate alert, resolved for one SLO."""

    name: str  # page-fast
    notify: NotifyClass  # page | ticket: which receiver it goes to
    severity: str  # critical | warning
    long_window: Duration
    short_window: Duration
    budget_share: Decimal  # share of the period's budget burnt when it fires
    for_: Duration
    factor: Decimal  # burn-rate factor = budget_share * slo_window / long_window
    threshold: Decimal  # error ratio threshold = factor * error_budget
    labels: tuple[tuple[str, str], ...] = ()  # extra alert labels from the spec's `alerting:` block
    min_bad_events: int = 0  # the long window must hold this many bad events too (model.low_traffic); 0: off

    @property
    def alert_name(self) -> str:
        return burn_alert_name(self.name)


def burn_alert_name(tier_name: str) -> str:
    """`page-fast` -> `SLOBurnRatePageFast`; `page-1h` and `page1h` meet here, so specs check for it."""
    return "SLOBurnRate" + "".join(part.capitalize() for part in tier_name.split("-"))


@dataclass(frozen=True)
class EventsSLI:
    """Counter-based SLI: bad (or good) events over total events."""

    total: str
    errors: str | None = None
    good: str | None = None
    kind: Literal["events"] = "events"


@dataclass(frozen=True)
class LatencySLI:
    """Requests slower than `threshold` on a classic histogram are bad."""

    histogram: str
    selector: str  # matchers without braces: job="checkout"
    threshold: Duration
    buckets: tuple[str, ...] = ()
    kind: Literal["latency"] = "latency"


@dataclass(frozen=True)
class RawSLI:
    """An error ratio the user computes; cannot be split into errors and total."""

    error_ratio: str
    kind: Literal["raw"] = "raw"


@dataclass(frozen=True)
class BoolGaugeSLI:
    """A 1/0 gauge (probe_success); each sample is one good or bad event."""

    metric: str
    kind: Literal["bool_gauge"] = "bool_gauge"


SLI = EventsSLI | LatencySLI | RawSLI | BoolGaugeSLI


@dataclass(frozen=True)
class SLO:
    service: str
    name: str
    description: str
    objective: Decimal  # percent, e.g. 99.9
    window: Duration
    sli: SLI
    tiers: tuple[Tier, ...]
    team: str
    labels: tuple[tuple[str, str], ...] = ()  # service labels, then the SLO's own: on every alert
    expected_rate: Decimal | None = None  # events per second, for low-traffic warnings
    min_total_events: int = 0  # a long window with fewer events is no signal: no tier fires (0: off)
    source: str = ""  # spec file, relative to the specs directory
    drafted: DraftedProse | None = None  # reviewed AI prose from slo_specs/drafts/ (or why it is withheld)
    budget_stages: tuple[BudgetStage, ...] = DEFAULT_STAGES  # error-budget policy of the SLO's service
    where: str = field(default="", compare=False)  # file:line:col of the entry, as messages show paths
    info_labels: tuple[tuple[str, str], ...] = ()  # the SLO's own labels, also on slo:info
    annotations: tuple[tuple[str, str], ...] = ()  # replace or add alert annotations (runbook_url, ...)
    grouping: tuple[str, ...] = ()  # labels every recorded series keeps: one ratio and alert per group
    max_groups: int | None = None  # the groups the user expects (a cardinality warning above the threshold)

    @property
    def objective_ratio(self) -> Decimal:
        return self.objective / 100

    @property
    def error_budget(self) -> Decimal:
        return 1 - self.objective / 100

    @property
    def key(self) -> str:
        return f"{self.service}/{self.name}"


@dataclass(frozen=True)
class Receiver:
    """One notification target of a team; secrets only as file paths."""

    type: str  # pagerduty | opsgenie | slack | email | webhook
    config: tuple[tuple[str, object], ...]  # spec fields, sorted; *_file fields only for secrets

    def get(self, key: str, default: object = None) -> object:
        return dict(self.config).get(key, default)


@dataclass(frozen=True)
class Team:
    name: str
    receivers: tuple[tuple[str, tuple[Receiver, ...]], ...]  # (notify class, receivers)
    business_hours: BusinessHours | None = None  # used by alertmanager
    repeat_interval: tuple[tuple[str, str], ...] = ()  # (notify class, duration text)
    group_interval: tuple[tuple[str, str], ...] = ()
    source: str = ""
    where: str = field(default="", compare=False)  # file:line:col of the entry, as messages show paths

    def receivers_for(self, notify: str) -> tuple[Receiver, ...]:
        return dict(self.receivers).get(notify, ())


@dataclass(frozen=True)
class Service:
    name: str
    team: str
    description: str
    labels: tuple[tuple[str, str], ...]
    slos: tuple[SLO, ...]
    source: str
    where: str = field(default="", compare=False)  # file:line:col of the document, as messages show paths


@dataclass(frozen=True)
class Settings:
    """Render-wide settings from a Policy document or the CLI."""

    runbook_base_url: str = ""  # empty: links are paths relative to the repository root
    dashboard_base_url: str = ""  # empty: links point at the rendered JSON files
    evaluation_interval: Duration = field(default_factory=lambda: parse_duration(DEFAULT_EVALUATION_INTERVAL))
    missing_sli_for: Duration = field(default_factory=lambda: parse_duration("15m"))
    alertmanager_output: str = "full"  # full: whole alertmanager.yml; subtree: routes/receivers to include
    alertmanager_base: str = ""  # text of slo_specs/alertmanager.base.yml (full mode merges it), "" if absent
    alertmanager_base_source: str = ""  # that file, for messages and the rendered header
    secrets_dir: str = DEFAULT_SECRETS_DIR  # every *_file path is inside it ({team}: per team)
    allow_silent_pages: bool | tuple[str, ...] = False  # True: every team; else the teams named
    base_inhibit_may_mute_pages: bool = False  # True: base-config inhibit rules may target sloforge pages

    def allows_silent_pages(self, team: str) -> bool:
        return self.allow_silent_pages is True or (
            isinstance(self.allow_silent_pages, tuple) and team in self.allow_silent_pages
        )

    deploy_formats: tuple[str, ...] = ()  # operator, mimir, cortex, thanos: rendered beside prometheus/rules/
    operator_namespace: str = ""  # PrometheusRule metadata.namespace ("" leaves it out)
    operator_labels: tuple[tuple[str, str], ...] = ()  # PrometheusRule metadata.labels (ruleSelector)
    thanos_partial_response_strategy: str = ""  # warn | abort | "" (Thanos Ruler's default)
    grafana_dashboards_path: str = "/var/lib/grafana/dashboards/sloforge"  # where Grafana finds the dashboards
    max_groups_warning: int = 100  # a grouped SLO expecting more groups than this gets a render warning


@dataclass(frozen=True)
class Model:
    services: tuple[Service, ...]
    teams: tuple[Team, ...]
    settings: Settings = field(default_factory=Settings)

    @property
    def slos(self) -> tuple[SLO, ...]:
        return tuple(slo for service in self.services for slo in service.slos)

    def team(self, name: str) -> Team | None:
        return next((team for team in self.teams if team.name == name), None)
