"""Secrets never land in rendered files.

What is copied into rendered/ is checked before anything is rendered:

- `alertmanager.base.yml` (copied whole), walked to any depth for literal values
  of Alertmanager's secret fields (`Secret` and `SecretURL` in Alertmanager's
  config/notifiers.go and config.go, and prometheus/common's HTTP client
  config), numbers included: YAML reads `bot_token: 123` as an int;
- every spec document, the base config and the command-line base URLs for URLs
  that carry credentials: `user:pass@`, secret query or fragment parameters
  (`token=`, `key=`, `sig=` ...), and webhook URLs whose path is the secret
  (Slack, Discord, Teams, PagerDuty, Telegram);
- Teams documents for `*_file` paths outside the secrets directory
  (`settings.secrets_dir`), so one team's receivers cannot read files meant
  for another's.

Messages name the field and the reason, never the value.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from generator.spec.defaults import DEFAULT_SECRETS_DIR
from generator.spec.errors import SpecError
from generator.spec.yaml_source import Document, PathKey

if TYPE_CHECKING:
    from generator.spec.load import SpecSet

TEAM_PLACEHOLDER = "{team}"

# Secret fields wherever they appear, and their file form (None: Alertmanager has none).
SECRET_ANYWHERE: dict[str, str | None] = {
    # global
    "smtp_auth_password": "smtp_auth_password_file",
    "smtp_auth_secret": None,
    "slack_api_url": "slack_api_url_file",
    "opsgenie_api_key": "opsgenie_api_key_file",
    "victorops_api_key": "victorops_api_key_file",
    "wechat_api_secret": None,
    "rocketchat_token": "rocketchat_token_file",
    "rocketchat_token_id": "rocketchat_token_id_file",
    "telegram_bot_token": "telegram_bot_token_file",
    # receivers
    "service_key": "service_key_file",
    "api_key": "api_key_file",
    "auth_password": "auth_password_file",
    "auth_secret": None,
    "api_secret": None,
    "user_key": "user_key_file",
    "bot_token": "bot_token_file",
    "token_id": "token_id_file",
    # prometheus/common HTTP client config
    "bearer_token": "bearer_token_file",
    "client_secret": "client_secret_file",
    "password": "password_file",
    "credentials": "credentials_file",
    "secret_key": None,  # sigv4
    "proxy_connect_header": None,  # every header value is a Secret
}
# Fields that are secret only inside one kind of block (elsewhere the same name is harmless).
SECRET_IN: dict[tuple[str, str], str | None] = {
    ("pagerduty_configs", "routing_key"): "routing_key_file",  # victorops' routing_key is a plain name
    ("slack_configs", "api_url"): "api_url_file",
    ("webhook_configs", "url"): "url_file",
    ("discord_configs", "webhook_url"): "webhook_url_file",
    ("msteams_configs", "webhook_url"): "webhook_url_file",
    ("msteamsv2_configs", "webhook_url"): "webhook_url_file",
    ("pushover_configs", "token"): "token_file",
    ("rocketchat_configs", "token"): "token_file",
    ("tls_config", "key"): "key_file",
}

# Query parameters that carry credentials: token, access_token, api_key, key, sig, X-Amz-Signature, ...
_SECRET_PARAM = re.compile(
    r"^(?:.*[_-])?(?:token|key|apikey|secret|password|passwd|pwd|pass|sig|signature|auth|credentials?|code)$",
    re.IGNORECASE,
)
# Webhook URLs whose path is the secret.
_SECRET_URLS = (
    (re.compile(r"^hooks\.slack\.com/(?:services|workflows|triggers)/", re.I), "a Slack webhook URL"),
    (re.compile(r"^(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks/", re.I), "a Discord webhook URL"),
    (re.compile(r"^[^/]*\.webhook\.office\.com/", re.I), "a Microsoft Teams webhook URL"),
    (re.compile(r"^outlook\.office(?:365)?\.com/webhook", re.I), "a Microsoft Teams webhook URL"),
    (re.compile(r"^events\.(?:eu\.)?pagerduty\.com/integration/", re.I), "a PagerDuty integration URL"),
    (re.compile(r"^api\.telegram\.org/bot", re.I), "a Telegram bot URL"),
)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def url_secret(text: str) -> str | None:
    """Why a URL in `text` carries a secret (never quoting it), or None."""
    if "://" not in text:  # most strings: PromQL, names, durations
        return None
    for match in _URL.finditer(text):
        try:
            parts = urlsplit(match.group(0))
            parts.port  # noqa: B018 - raises for a malformed port
        except ValueError:
            continue
        if "@" in parts.netloc:
            return "credentials in the URL (user:password@)"
        for name, _ in parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(parts.fragment):
            if _SECRET_PARAM.match(name):
                return f"a credential in the query parameter {name!r}"
        target = (parts.hostname or "") + parts.path
        for pattern, what in _SECRET_URLS:
            if pattern.match(target):
                return f"{what}, whose path is the secret"
    return None


def _given(value: object) -> bool:
    """A value a secret field would copy: anything but empty (numbers too: `bot_token: 123`)."""
    return value is not None and not (isinstance(value, str | dict | list) and not value)


def _walk(node: object, path: PathKey) -> Iterator[tuple[PathKey, object]]:
    """(path, value) of every mapping entry and list item, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield path + (index,), item
            yield from _walk(item, path + (index,))


def _block(path: PathKey) -> str:
    """The name of the block a field sits in (`pagerduty_configs`, `basic_auth`, ...)."""
    return next((part for part in reversed(path[:-1]) if isinstance(part, str)), "")


def secret_field(path: PathKey) -> tuple[bool, str | None]:
    """(is this field a secret, its file form)."""
    key = path[-1]
    if not isinstance(key, str):
        return False, None  # a list item is never a secret field itself
    if (_block(path), key) in SECRET_IN:
        return True, SECRET_IN[(_block(path), key)]
    if key in SECRET_ANYWHERE:
        return True, SECRET_ANYWHERE[key]
    if key == "secrets" and len(path) >= 3 and path[-3] == "http_headers":
        return True, "files"
    return False, None


def base_config_errors(document: Document) -> list[SpecError]:
    """Literal secrets and credential-bearing URLs anywhere in the base config (it is copied whole)."""
    errors: list[SpecError] = []
    for path, value in _walk(document.data, ()):
        key = _field(path)
        secret, instead = secret_field(path) if isinstance(path[-1], str) else (False, None)
        if secret and _given(value):
            advice = f"use {instead!r} with a file path" if instead else "this secret has no file form in Alertmanager"
            errors.append(
                document.error(
                    path,
                    f"{key!r} would copy a secret into rendered/; {advice} (secrets are never rendered; the value is not shown)",
                    at_key=True,
                )
            )
        elif isinstance(value, str) and (reason := url_secret(value)):
            errors.append(document.error(path, f"{key!r} holds {reason} (value not shown); {_url_advice(path)}"))
    return errors


def _url_advice(path: PathKey) -> str:
    block = _block(path)
    key = str(path[-1])
    instead = SECRET_IN.get((block, key)) or SECRET_IN.get((f"{block}_configs", key))  # Teams: `webhook`
    if instead:
        return f"put the whole URL in a file and reference it with {instead!r}"
    return "keep credentials out of URLs: use a *_file field or http_config authorization with credentials_file"


def spec_set_errors(specs: SpecSet) -> list[SpecError]:
    """Credential URLs in every spec document (a base URL or a description lands in rendered/ too),
    and the `*_file` paths of Teams documents against the Policy's secrets directory."""
    from generator.spec.schema import PolicyDoc  # schema imports this module: import at call time

    policies = [doc.model for doc in specs.of_kind(PolicyDoc)]
    secrets_dir = next((p.settings.secrets_dir for p in policies if p.settings.secrets_dir), DEFAULT_SECRETS_DIR)
    documents = [doc.source for doc in specs.documents] + list(specs.failed)  # schema-valid or not
    errors = [error for document in documents for error in _url_errors(document)]
    for document in documents:
        if isinstance(document.data, dict) and document.data.get("kind") == "Teams":
            errors += teams_file_errors(document, secrets_dir)
    return errors


def override_errors(settings: dict[str, str]) -> list[SpecError]:
    """Command-line settings (--runbook-base-url, ...) are copied into every alert: no credentials either."""
    return [
        SpecError("command line", 1, 1, f"--{key.replace('_', '-')} holds {reason} (value not shown)")
        for key, value in sorted(settings.items())
        if isinstance(value, str) and (reason := url_secret(value))
    ]


def _url_errors(document: Document) -> list[SpecError]:
    return [
        document.error(path, f"{_field(path)!r} holds {reason} (value not shown); {_url_advice(path)}")
        for path, value in _url_strings(document.data, ())
        if (reason := url_secret(value))
    ]


def _url_strings(node: object, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    """(path, text) of strings that contain a URL; paths are built only on the way to one (specs are large)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, str):
            if "://" in value:
                yield path + (key,), value
        elif isinstance(value, dict | list):
            yield from _url_strings(value, path + (key,))


def _field(path: PathKey) -> str:
    """The name of the field a value belongs to (a list item belongs to its list)."""
    return next((str(part) for part in reversed(path) if isinstance(part, str)), "document")


def teams_file_errors(document: Document, secrets_dir: str) -> list[SpecError]:
    """`*_file` paths of a Teams document outside the secrets directory (of their team, with {team})."""
    errors: list[SpecError] = []
    teams = document.data.get("teams") if isinstance(document.data, dict) else None
    if not isinstance(teams, dict):
        return errors
    for team, spec in teams.items():
        folder = secrets_dir.replace(TEAM_PLACEHOLDER, str(team))
        for path, value in _walk(spec, ("teams", team)):
            if isinstance(path[-1], str) and path[-1].endswith("_file") and not isinstance(value, dict | list):
                problem = file_path_problem(value, folder)
                if problem:
                    errors.append(document.error(path, f"{path[-1]!r}: {problem}"))
    return errors


def file_path_problem(value: object, folder: str) -> str | None:
    """Why a `*_file` path may not be used, or None: it must name a file inside `folder`."""
    if not isinstance(value, str) or not value:
        return "expected a file path"
    inside = f"a file inside the secrets directory {folder} (settings.secrets_dir in the Policy)"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "the path contains control characters"
    if not value.startswith("/"):
        return f"expected an absolute path: {inside}"
    if ".." in value.split("/"):
        return f"`..` is not allowed in secret file paths; expected {inside}"
    if posixpath.normpath(value) != value:
        return f"write the path in normal form (no `//`, `/./` or trailing `/`); expected {inside}"
    if not value.startswith(folder.rstrip("/") + "/"):
        return f"the path is outside the secrets directory; expected {inside}"
    return None


def secrets_dir_problem(value: str) -> str | None:
    """Why a `secrets_dir` setting is unusable, or None."""
    if not value.startswith("/") or value == "/":
        return "expected an absolute directory such as /etc/alertmanager/secrets (not / itself)"
    if ".." in value.split("/") or posixpath.normpath(value) != value:
        return "write the directory in normal form, without `..`, `//` or a trailing `/`"
    if re.search(r"[{}]", value.replace(TEAM_PLACEHOLDER, "")):
        return f"the only placeholder allowed is {TEAM_PLACEHOLDER}"
    if any(TEAM_PLACEHOLDER in part and part != TEAM_PLACEHOLDER for part in value.split("/")):
        return f"{TEAM_PLACEHOLDER} must be a whole path component, e.g. /etc/alertmanager/secrets/{TEAM_PLACEHOLDER}"
    return None
