"""Pydantic models of the `sloforge/v1` spec documents (docs/design.md, contracts).

Shape and field-level rules live here; checks that need more than one field
or more than one document live in `spec.validate`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from generator.spec.deploy_schema import DeploySettings
from generator.spec.safe_text import base_url_problem, template_problem
from generator.spec.secrets import secrets_dir_problem
from generator.spec.strict import Strict
from generator.units.durations import parse_duration

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
MAX_NAME_LENGTH = 63  # names become file names, Grafana uids and label values; 63 keeps paths short
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)]
LABEL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
METRIC_NAME_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
LabelName = Annotated[str, StringConstraints(pattern=LABEL_NAME_PATTERN)]


def _label_value(value: str) -> str:
    if not value:
        raise ValueError("an empty label value means no label to Prometheus; give a value or drop the label")
    problem = template_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


LabelValue = Annotated[str, AfterValidator(_label_value)]  # copied into alert labels, which Prometheus templates
API_VERSION = "sloforge/v1"
WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
# Rule evaluation interval bounds: faster is load for nothing, slower leaves short windows without samples.
MIN_EVALUATION_INTERVAL, MAX_EVALUATION_INTERVAL = "1s", "5m"  # 1s: the local demo pages in seconds


def _duration(value: str) -> str:
    parse_duration(value)
    return value


# --- SLIs -------------------------------------------------------------------


class EventsSpec(Strict):
    errors: str | None = None
    good: str | None = None
    total: str

    @model_validator(mode="after")
    def _one_of_errors_good(self) -> EventsSpec:
        if (self.errors is None) == (self.good is None):
            raise ValueError("give exactly one of `errors` or `good` beside `total`")
        return self


class LatencySpec(Strict):
    histogram: Annotated[str, StringConstraints(pattern=METRIC_NAME_PATTERN)]
    selector: str = ""
    threshold: str
    buckets: list[str | float | int] | None = None

    @field_validator("threshold")
    @classmethod
    def _threshold_is_duration(cls, value: str) -> str:
        return _duration(value)


class RawSpec(Strict):
    error_ratio: str


class BoolGaugeSpec(Strict):
    metric: str


class SLISpec(Strict):
    events: EventsSpec | None = None
    latency: LatencySpec | None = None
    raw: RawSpec | None = None
    bool_gauge: BoolGaugeSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SLISpec:
        given = [name for name in ("events", "latency", "raw", "bool_gauge") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "an sli needs exactly one of events, latency, raw or bool_gauge"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


# --- alerting ---------------------------------------------------------------


class TierSpec(Strict):
    """A tier's fields; in a Policy a new tier must give all of them."""

    enabled: bool | None = None
    notify: Literal["page", "ticket"] | None = None
    severity: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")] | None = None
    long_window: str | None = None
    short_window: str | None = None
    budget_share: Annotated[Decimal, Field(gt=0, le=1)] | None = None
    for_: str | None = Field(default=None, alias="for")
    labels: dict[LabelName, str] | None = None  # extra labels on this tier's alerts
    # Bad events the long window must hold before the tier fires (docs/low-traffic.md); 0: no guard.
    min_bad_events: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)] | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _label_values_are_text(cls, value: object) -> object:
        return _numbers_as_text(value)

    @field_validator("long_window", "short_window", "for_")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)


# --- documents --------------------------------------------------------------


def _numbers_as_text(value: object) -> object:
    """YAML reads `tier: 1` as a number; label and annotation values are text."""
    if isinstance(value, dict):
        return {k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for k, v in value.items()}
    return value


class SLOSpec(Strict):
    name: Name
    description: str = ""
    objective: Annotated[
        Decimal,
        Field(gt=0, lt=100),
        WithJsonSchema(  # the validator below takes numbers only; the generated schema would allow text
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100, "description": "percent, e.g. 99.9"}
        ),
    ]
    window: str = "30d"
    sli: SLISpec
    alerting: dict[str, TierSpec | None] = {}
    expected_rate: Annotated[Decimal, Field(gt=0)] | None = Field(
        default=None, description="expected events per second; enables low-traffic warnings"
    )
    labels: dict[LabelName, str] = Field(default={}, description="on this SLO's alerts and slo:info series")
    annotations: dict[LabelName, str] = Field(
        default={}, description="on this SLO's alerts; replace generated ones of the same name (runbook_url, summary)"
    )
    min_total_events: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)] = Field(
        default=0, description="a long window with fewer events is no signal: its tier does not fire (0: off)"
    )
    grouping: list[LabelName] = Field(
        default=[],
        description="labels that split the SLO: one error ratio, budget and alert per value (docs/grouping.md)",
    )
    max_groups: Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)] | None = Field(
        default=None,
        description="the number of groups you expect; render warns above settings.max_groups_warning (default 100)",
    )

    @field_validator("labels", "annotations", mode="before")
    @classmethod
    def _values_are_text(cls, value: object) -> object:
        return _numbers_as_text(value)

    @field_validator("objective", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValueError("expected a number, a percentage such as 99.9")
        return Decimal(repr(value)) if isinstance(value, float) else value

    @field_validator("objective")
    @classmethod
    def _percent_not_ratio(cls, value: Decimal) -> Decimal:
        """0.999 is a valid number but almost certainly meant 99.9: an alert that always fires."""
        if value <= 1:
            percent = value * 100
            hint = f"did you mean {percent.normalize():f}?" if percent < 100 else "write e.g. 99.9 for 99.9%"
            raise ValueError(f"objective {value} is a percentage here ({value}%), not a ratio; {hint}")
        return value


class ServiceDoc(Strict):
    api_version: Literal["sloforge/v1"] = Field(alias="apiVersion")
    kind: Literal["Service"]
    service: Name
    team: Name
    description: str = ""
    labels: dict[LabelName, LabelValue] = {}
    slos: Annotated[list[SLOSpec], Field(min_length=1)]

    @field_validator("labels", mode="before")
    @classmethod
    def _label_values_are_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {
                k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for k, v in value.items()
            }
        return value


# --- teams and receivers ----------------------------------------------------

SECRET_FIELDS = {
    "routing_key": "routing_key_file",
    "service_key": "service_key_file",
    "api_key": "api_key_file",
    "api_url": "api_url_file",
    "auth_password": "auth_password_file",
    "auth_secret": "auth_secret_file",
    "credentials": "credentials_file",
    "password": "password_file",
    "url": "url_file",
}


class Authorization(Strict):
    type: str = "Bearer"
    credentials_file: str


class HTTPConfig(Strict):
    authorization: Authorization | None = None


def _no_env_vars(value: str | None) -> str | None:
    """Alertmanager never expands `${VAR}` (amtool rejects it in a URL host)."""
    if value is not None and re.search(r"\$\{?[A-Za-z_]", value):
        raise ValueError(
            "Alertmanager does not expand environment variables in URLs; write the URL out, "
            "or for a webhook whose URL is secret use `url_file`"
        )
    return value


class PagerDutyReceiver(Strict):
    routing_key_file: str
    severity: str | None = None
    url: str | None = None  # events API endpoint, not a secret

    @field_validator("url")
    @classmethod
    def _literal_url(cls, value: str | None) -> str | None:
        return _no_env_vars(value)


class OpsgenieReceiver(Strict):
    api_key_file: str
    api_url: str | None = None  # API endpoint, not a secret
    priority: str | None = None
    responders: list[dict[str, str]] | None = None

    @field_validator("api_url")
    @classmethod
    def _literal_url(cls, value: str | None) -> str | None:
        return _no_env_vars(value)


class SlackReceiver(Strict):
    channel: str
    api_url_file: str | None = None


class EmailReceiver(Strict):
    to: str
    from_: str | None = Field(default=None, alias="from")
    smarthost: str | None = None
    auth_username: str | None = None
    auth_password_file: str | None = None


class WebhookReceiver(Strict):
    url: str | None = None  # only for URLs that carry no secret
    url_file: str | None = None
    http_config: HTTPConfig | None = None

    @field_validator("url")
    @classmethod
    def _literal_url(cls, value: str | None) -> str | None:
        return _no_env_vars(value)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookReceiver:
        if (self.url is None) == (self.url_file is None):
            raise ValueError("give exactly one of `url` or `url_file`")
        return self


class ReceiverSpec(Strict):
    pagerduty: PagerDutyReceiver | None = None
    opsgenie: OpsgenieReceiver | None = None
    slack: SlackReceiver | None = None
    email: EmailReceiver | None = None
    webhook: WebhookReceiver | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ReceiverSpec:
        if not any(getattr(self, name) is not None for name in RECEIVER_TYPES):
            raise ValueError(f"a receiver needs at least one of {', '.join(RECEIVER_TYPES)}")
        return self


RECEIVER_TYPES = ("pagerduty", "opsgenie", "slack", "email", "webhook")


class TimeRange(Strict):
    start_time: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]
    end_time: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


class BusinessHours(Strict):
    location: str = "UTC"  # IANA time zone
    weekdays: list[str] = ["monday:friday"]
    times: list[TimeRange] = [TimeRange(start_time="09:00", end_time="17:00")]

    @field_validator("location")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Alertmanager refuses an unknown zone at load time; say so at the spec line instead."""
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; expected an IANA name such as Europe/Berlin") from None
        return value


class TeamSpec(Strict):
    page: ReceiverSpec | None = None
    ticket: ReceiverSpec | None = None
    info: ReceiverSpec | None = None
    business_hours: BusinessHours | None = None
    repeat_interval: dict[Literal["page", "ticket", "info"], str] = {}
    group_interval: dict[Literal["page", "ticket", "info"], str] = {}

    @field_validator("repeat_interval", "group_interval")
    @classmethod
    def _durations(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            _duration(text)
        return value


class TeamsDoc(Strict):
    api_version: Literal["sloforge/v1"] = Field(alias="apiVersion")
    kind: Literal["Teams"]
    teams: dict[Name, TeamSpec]


class PolicySettings(Strict):
    runbook_base_url: str | None = None
    dashboard_base_url: str | None = None
    evaluation_interval: str | None = None
    missing_sli_for: str | None = None
    alertmanager_output: Literal["full", "subtree"] | None = None
    # Accept pages that reach a receiver without integrations (nobody is paged): every team, or these teams.
    allow_silent_pages: bool | list[Name] | None = None
    # Accept inhibit rules in alertmanager.base.yml whose targets include sloforge pages (e.g. a cluster-down alert).
    base_inhibit_may_mute_pages: bool | None = None
    secrets_dir: str | None = Field(
        default=None, description="directory every *_file path must be in; {team} stands for the team's name"
    )
    deploy: DeploySettings | None = None
    grafana_dashboards_path: str | None = Field(
        default=None, description="absolute path inside Grafana of rendered/grafana/dashboards/ (provisioning file)"
    )
    max_groups_warning: Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)] | None = Field(
        default=None, description="render warns when a grouped SLO's max_groups is above this (default 100)"
    )

    @field_validator("secrets_dir")
    @classmethod
    def _secrets_dir(cls, value: str | None) -> str | None:
        problem = None if value is None else secrets_dir_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("evaluation_interval", "missing_sli_for")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)

    @field_validator("evaluation_interval")
    @classmethod
    def _sane_interval(cls, value: str | None) -> str | None:
        low, high = parse_duration(MIN_EVALUATION_INTERVAL), parse_duration(MAX_EVALUATION_INTERVAL)
        if value is not None and not low <= parse_duration(value) <= high:
            raise ValueError(
                f"evaluation_interval {value} is outside {low}..{high}: shorter only loads Prometheus, "
                "longer leaves the short alert windows without samples"
            )
        return value

    @field_validator("runbook_base_url", "dashboard_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        problem = None if value is None else base_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("grafana_dashboards_path")
    @classmethod
    def _absolute_path(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or re.search(r"[\x00-\x1f]", value)):
            raise ValueError(
                f"expected an absolute path inside Grafana such as /var/lib/grafana/dashboards/slo, got {value!r}"
            )
        return value


class BudgetStageSpec(Strict):
    """One stage of the error-budget policy (docs/budget-policy.md)."""

    name: Name
    min_remaining: Decimal | None = None  # percent of the budget; the stage holds strictly above it
    action: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    review: str
    freeze: bool = False

    @field_validator("review")
    @classmethod
    def _review(cls, value: str) -> str:
        return _duration(value)


class BudgetPolicySpec(Strict):
    """Stages for every SLO, and whole stage lists per service that replace them."""

    stages: list[BudgetStageSpec] | None = None
    services: dict[Name, list[BudgetStageSpec]] = {}


class PolicyDoc(Strict):
    """Global overrides: tiers (changed, added, disabled), render settings, error-budget policy."""

    api_version: Literal["sloforge/v1"] = Field(alias="apiVersion")
    kind: Literal["Policy"]
    tiers: dict[Name, TierSpec | None] = {}
    settings: PolicySettings = PolicySettings()
    budget_policy: BudgetPolicySpec = BudgetPolicySpec()


DOCUMENT_KINDS: dict[tuple[str, str], type[Strict]] = {
    (API_VERSION, "Service"): ServiceDoc,
    (API_VERSION, "Teams"): TeamsDoc,
    (API_VERSION, "Policy"): PolicyDoc,
}
