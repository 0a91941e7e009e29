"""Pydantic models of the `sloforge/v1` spec documents (DESIGN.md, spec contract).

Shape and field-level rules live here; checks that need more than one field
or more than one document live in `spec.validate`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from generator.model.durations import parse_duration

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
API_VERSION = "sloforge/v1"
WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never silently drop a setting."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False)


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
    histogram: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
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
    # Bad events the long window must hold before the tier fires (docs/low-traffic.md); 0: no guard.
    min_bad_events: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)] | None = None

    @field_validator("long_window", "short_window", "for_")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)


# --- documents --------------------------------------------------------------


class SLOSpec(Strict):
    name: Name
    description: str = ""
    objective: Annotated[Decimal, Field(gt=0, lt=100)]
    window: str = "30d"
    sli: SLISpec
    alerting: dict[str, TierSpec | None] = {}
    expected_rate: Annotated[Decimal, Field(gt=0)] | None = Field(
        default=None, description="expected events per second; enables low-traffic warnings"
    )
    min_total_events: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)] = Field(
        default=0, description="a long window with fewer events is no signal: its tier does not fire (0: off)"
    )

    @field_validator("objective", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValueError("expected a number, a percentage such as 99.9")
        return Decimal(repr(value)) if isinstance(value, float) else value


class ServiceDoc(Strict):
    api_version: Literal["sloforge/v1"] = Field(alias="apiVersion")
    kind: Literal["Service"]
    service: Name
    team: Name
    description: str = ""
    labels: dict[LabelName, str] = {}
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

    @field_validator("evaluation_interval", "missing_sli_for")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)


class PolicyDoc(Strict):
    """Global overrides: tiers (changed, added, disabled) and render settings."""

    api_version: Literal["sloforge/v1"] = Field(alias="apiVersion")
    kind: Literal["Policy"]
    tiers: dict[Name, TierSpec | None] = {}
    settings: PolicySettings = PolicySettings()


DOCUMENT_KINDS: dict[tuple[str, str], type[Strict]] = {
    (API_VERSION, "Service"): ServiceDoc,
    (API_VERSION, "Teams"): TeamsDoc,
    (API_VERSION, "Policy"): PolicyDoc,
}
