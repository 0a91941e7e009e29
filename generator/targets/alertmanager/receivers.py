"""Team receivers -> Alertmanager receiver configs, wired to sloforge's templates.

Only fields from the spec are copied; secrets arrive as `*_file` paths (the
spec schema rejects literal secrets), so nothing secret is ever rendered.
"""

from __future__ import annotations

from generator.model.slo import Receiver, Team
from generator.targets.alertmanager.names import NOTIFY_CLASSES, receiver_name


def template_ref(name: str) -> str:
    return f'{{{{ template "{name}" . }}}}'


# Which template fills which field, per integration (defines in sloforge.tmpl).
TEMPLATE_FIELDS: dict[str, dict[str, str]] = {
    "pagerduty": {"description": "sloforge.pagerduty.description"},
    "opsgenie": {"message": "sloforge.opsgenie.message", "description": "sloforge.opsgenie.description"},
    "slack": {"title": "sloforge.slack.title", "text": "sloforge.slack.text"},
    "email": {},
    "webhook": {},
}
EMAIL_SUBJECT = "sloforge.email.subject"
# PagerDuty custom details: one small template per field.
PAGERDUTY_DETAILS = (
    ("service", "sloforge._service"),
    ("slo", "sloforge._slo_name"),
    ("tier", "sloforge._tier"),
    ("burn_rate", "sloforge._burn_rate"),
    ("budget_consumed", "sloforge._budget_consumed"),
    ("runbook", "sloforge._runbook"),
    ("dashboard", "sloforge._dashboard"),
)


def team_receivers(team: Team) -> list[dict]:
    result = []
    for notify in NOTIFY_CLASSES:
        found = team.receivers_for(notify)
        if not found:
            continue
        entry: dict = {"name": receiver_name(team.name, notify)}
        for receiver in found:
            entry.setdefault(f"{receiver.type}_configs", []).append(integration(receiver))
        result.append(entry)
    return result


def integration(receiver: Receiver) -> dict:
    config = {key: _plain(value) for key, value in receiver.config}
    for field, template in TEMPLATE_FIELDS[receiver.type].items():
        config.setdefault(field, template_ref(template))
    if receiver.type == "pagerduty":
        config.setdefault("details", {key: template_ref(name) for key, name in PAGERDUTY_DETAILS})
    if receiver.type == "email":
        config.setdefault("headers", {"Subject": template_ref(EMAIL_SUBJECT)})
    if receiver.type == "slack":
        config.setdefault("send_resolved", True)
    return config


def _plain(value: object) -> object:
    """Spec values are pydantic dumps: dicts and lists of text, kept in spec order."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
