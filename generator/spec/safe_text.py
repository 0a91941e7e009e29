"""Checks for text that reaches Prometheus as a Go template, and for the base URLs alerts link to.

Prometheus expands every alert label and annotation as a Go template with
`query` and friends: a label value `{{ with query "up" }}` runs a query on
every evaluation, and `1 {{ oops` makes promtool reject the rules. Label
values and base URLs therefore may not contain template delimiters (free
prose is escaped instead, see `targets.prose.escape_template`); neither may
receiver fields, which Alertmanager expands the same way. Spec fields and CLI
flags share these checks so both say the same thing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

TEMPLATE_DELIMITERS = ("{{", "}}")


def template_problem(value: str, reader: str = "Prometheus") -> str | None:
    """Why `value` cannot be copied into a field `reader` expands as a Go template, or None."""
    found = [delimiter for delimiter in TEMPLATE_DELIMITERS if delimiter in value]
    if not found:
        return None
    return (
        f"contains {' and '.join(repr(d) for d in found)}: {reader} would run it as a Go template "
        "for every alert; this field must be plain text"
    )


def base_url_problem(value: str) -> str | None:
    """Why `value` is not a usable base URL for runbook or dashboard links, or None."""
    problem = template_problem(value)
    if problem:
        return problem
    if any(char.isspace() for char in value):
        return f"{value!r} contains whitespace; expected a URL such as https://runbooks.example.com/slo"
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        return f"{value!r} is not a URL ({exc}); expected e.g. https://runbooks.example.com/slo"
    if parts.scheme not in ("http", "https") or not host:
        return f"{value!r} is not an http(s) URL with a host; expected e.g. https://runbooks.example.com/slo"
    return None
