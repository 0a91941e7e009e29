"""A small client for the Prometheus HTTP query API: timeouts, TLS, basic or bearer auth.

Credentials come from flags that name files, or from the environment, never
from the URL, and no message ever prints them.
"""

from __future__ import annotations

import base64
import json
import math
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "SLOFORGE_PROMETHEUS_TOKEN"
PASSWORD_ENV = "SLOFORGE_PROMETHEUS_PASSWORD"


class PrometheusUnavailable(RuntimeError):
    """Prometheus could not be reached or answered with an error (exit 1: never a silent pass)."""


class ConnectionSettingsError(ValueError):
    """The URL or the auth/TLS settings are unusable (a usage error, exit 2)."""


@dataclass(frozen=True)
class Connection:
    url: str  # scheme://host[:port][/path], no credentials
    timeout: float = 10.0
    bearer_token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None
    ca_file: Path | None = None
    insecure_skip_verify: bool = False

    def __repr__(self) -> str:  # dataclass repr would show the secrets
        return f"Connection({self.url!r})"


def check_url(url: str) -> str:
    """The base URL without a trailing slash; raises ConnectionSettingsError for anything else."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConnectionSettingsError(f"--prometheus must be an http(s) URL such as http://localhost:9090, got {url!r}")
    try:
        parsed.port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        raise ConnectionSettingsError(f"--prometheus has an invalid port: {url!r}") from None
    if parsed.username or parsed.password:
        raise ConnectionSettingsError(
            f"--prometheus must not carry credentials; use --user with {PASSWORD_ENV} or --password-file, "
            f"or {TOKEN_ENV} / --bearer-token-file"
        )
    if parsed.query or parsed.fragment:
        raise ConnectionSettingsError("--prometheus is a base URL: no query string or fragment")
    return url.rstrip("/")


def query(connection: Connection, expr: str) -> list[dict]:
    """Instant query; the `result` list of a vector answer."""
    return _post(connection, "query", {"query": expr}, "vector")


def query_range(connection: Connection, expr: str, start: float, end: float, step: float) -> list[dict]:
    """Range query (unix seconds); the `result` list of a matrix answer."""
    form = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"}
    return _post(connection, "query_range", form, "matrix")


def _post(connection: Connection, endpoint: str, form: dict[str, str], result_type: str) -> list[dict]:
    expr = form["query"]
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(f"{connection.url}/api/v1/{endpoint}", data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("Accept", "application/json")
    if connection.bearer_token:
        request.add_header("Authorization", f"Bearer {connection.bearer_token}")
    elif connection.basic_user is not None:
        pair = f"{connection.basic_user}:{connection.basic_password or ''}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
    try:
        with urllib.request.urlopen(request, timeout=connection.timeout, context=_tls(connection)) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise PrometheusUnavailable(f"{connection.url} answered HTTP {exc.code} to a query") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusUnavailable(f"cannot reach {connection.url}: {reason}") from None
    except ValueError:
        raise PrometheusUnavailable(f"{connection.url} did not answer with JSON: is it a Prometheus?") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error", "unknown error") if isinstance(answer, dict) else "unexpected answer"
        raise PrometheusUnavailable(f"{connection.url} rejected the query {expr!r}: {error}")
    data = answer.get("data") or {}
    result = data.get("result") if isinstance(data, dict) else None
    if data.get("resultType") != result_type or not isinstance(result, list):
        raise PrometheusUnavailable(f"{connection.url} did not answer {expr!r} with a {result_type}")
    return result


def finite(raw: object) -> float | None:
    """A sample value as Prometheus sends it (a string); None for NaN, ±Inf or anything that is not a number."""
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _tls(connection: Connection) -> ssl.SSLContext | None:
    if not connection.url.startswith("https:"):
        return None
    context = ssl.create_default_context(cafile=str(connection.ca_file) if connection.ca_file else None)
    if connection.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
