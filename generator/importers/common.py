"""What every importer returns: SLOs in sloforge's shape, approximations and skips, all positioned.

An importer never raises for bad input: it turns each source document into
`ImportedSLO`s (a sloforge SLO mapping plus where it came from), `Skip`s (an
SLO or construct sloforge cannot express, with file:line and the construct
named) and `SpecError`s (input that is not valid in its own format).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from generator.spec.errors import SpecError
from generator.spec.promql import parse_error
from generator.spec.schema import NAME_PATTERN, WINDOW_PLACEHOLDER
from generator.spec.yaml_source import Document, PathKey

TEMPLATE = re.compile(r"\{\{|\}\}")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels sloforge sets itself on every alert and recorded series.
RESERVED_LABELS = {"slo_service", "slo_name", "slo_window", "slo_tier", "slo_notify", "severity", "team", "alertname"}


@dataclass(frozen=True, order=True)
class Position:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def position(document: Document, path: PathKey) -> Position:
    line, column = document.locate(path)
    return Position(document.file, line, column)


@dataclass
class ImportedSLO:
    """One sloforge SLO, the service it belongs to, and how faithful it is."""

    source_format: str  # e.g. "Sloth prometheus/v1"
    where: Position
    service: str
    slo: dict  # a sloforge `slos:` entry, in field order
    service_labels: dict[str, str] = field(default_factory=dict)
    team_hint: str | None = None
    approximations: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.service}/{self.slo['name']}"


@dataclass(frozen=True)
class Skip:
    where: Position
    what: str  # the SLO (or document) left out
    construct: str  # why: the construct sloforge does not support


@dataclass
class ImportBatch:
    slos: list[ImportedSLO] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)
    policy_tiers: dict[str, dict] = field(default_factory=dict)  # from Sloth AlertWindows
    policy_notes: list[str] = field(default_factory=list)
    sloth_periods: list[str] = field(default_factory=list)  # AlertWindows sloPeriod: Sloth's SLO window
    routing_hints: dict[str, list[str]] = field(default_factory=dict)  # team -> hints for the Teams stub

    def extend(self, other: ImportBatch) -> None:
        self.slos += other.slos
        self.skips += other.skips
        self.errors += other.errors
        self.policy_tiers.update(other.policy_tiers)
        self.policy_notes += other.policy_notes
        self.sloth_periods += other.sloth_periods
        for team, hints in other.routing_hints.items():
            self.routing_hints.setdefault(team, []).extend(h for h in hints if h not in self.routing_hints[team])


class Invalid(Exception):
    """Input that is not valid in its own format: becomes a SpecError at `path`."""

    def __init__(self, path: PathKey, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


class Unsupported(Exception):
    """A construct sloforge cannot express: the SLO is skipped, naming it."""

    def __init__(self, path: PathKey, construct: str):
        super().__init__(construct)
        self.path = path
        self.construct = construct


# --- field access that turns shape problems into positioned errors ---------


def mapping(value: object, path: PathKey, what: str) -> dict:
    if not isinstance(value, dict):
        raise Invalid(path, f"{what}: expected a mapping, got {type(value).__name__}")
    return value


def optional_mapping(parent: dict, key: str, path: PathKey) -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    return mapping(value, path + (key,), key)


def text(parent: dict, key: str, path: PathKey, *, required: bool = True) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise Invalid(path, f"required field {key!r} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(path + (key,), f"{key}: expected text, got {type(value).__name__}")
    if required and not str(value).strip():
        raise Invalid(path + (key,), f"{key}: must not be empty")
    return str(value)


def items(parent: dict, key: str, path: PathKey) -> list:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(path + (key,), f"{key}: expected a list, got {type(value).__name__}")
    return value


def percent(value: object, path: PathKey, *, ratio: bool = False) -> Decimal:
    """An objective as a percentage strictly between 0 and 100 (`ratio`: given as 0..1)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(path, f"expected a number, got {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(path, f"expected a number, got {value!r}") from None
    if ratio:
        number *= 100
    if not 0 < number < 100:
        scale = "between 0 and 1" if ratio else "between 0 and 100"
        raise Invalid(path, f"objective {value!r} must be strictly {scale}")
    return number.normalize()


# --- sloforge's own rules ---------------------------------------------------


def sloforge_name(raw: str) -> str:
    """A name sloforge accepts ([a-z0-9][a-z0-9-]*): lowercase, other characters become dashes."""
    name = re.sub(r"[^a-z0-9-]+", "-", raw.strip().lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    return name if re.match(NAME_PATTERN, name or "") else "unnamed"


def renamed(raw: str, what: str, approximations: list[str]) -> str:
    name = sloforge_name(raw)
    if name != raw:
        approximations.append(f"{what} {raw!r} renamed to {name!r} (sloforge names are [a-z0-9-])")
    return name


def usable_labels(labels: dict, what: str, approximations: list[str]) -> dict[str, str]:
    """Labels sloforge can carry: valid names, not its own, no templates; the rest named as dropped."""
    kept: dict[str, str] = {}
    for key, value in labels.items():
        value_text = "" if value is None else str(value)
        if not isinstance(key, str) or not LABEL_NAME.match(key):
            approximations.append(f"{what} label {key!r} dropped: not a Prometheus label name")
        elif key in RESERVED_LABELS:
            approximations.append(f"{what} label {key}={value_text!r} dropped: sloforge sets {key!r} itself")
        elif TEMPLATE.search(value_text):
            approximations.append(f"{what} label {key} dropped: it holds a template, and labels must be literal")
        else:
            kept[key] = value_text
    return kept


def window_query(query: str, path: PathKey, approximations: list[str], *, counter: bool = False) -> str:
    """A PromQL query with sloforge's `[{{.window}}]` range, or Unsupported."""
    query = query.strip()
    if WINDOW_PLACEHOLDER.search(query):
        result = query
    elif counter:
        rated = _rate_of_counter(query)
        if rated is None:
            raise Unsupported(path, f"counter query {query!r} is not a selector or a sum of one; cannot add rate()")
        result = rated
        approximations.append("counter query wrapped in rate(...[{{.window}}])")
    else:
        ranged, count = re.subn(r"\[\s*\d+(?:ms|s|m|h|d|w|y)\s*(:[^\]]*)?\]", "[{{.window}}]", query)
        if not count:
            raise Unsupported(path, f"query {query!r} has no range to replace with the SLO's windows")
        approximations.append("fixed query range replaced by [{{.window}}]")
        result = ranged
    problem = parse_error(WINDOW_PLACEHOLDER.sub("5m", result))
    if problem:  # often another dialect (MetricsQL, LogQL) rather than a typo
        raise Unsupported(path, f"query that is not Prometheus PromQL ({problem})")
    return result


_SELECTOR = r"[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^{}]*\})?|\{[^{}]*\}"
_SUM_OF_SELECTOR = re.compile(
    rf"^\s*(?P<agg>sum\s*(?:(?:by|without)\s*\([^()]*\))?\s*)?\(\s*(?P<sel>{_SELECTOR})\s*\)"
    rf"(?P<tail>\s*(?:(?:by|without)\s*\([^()]*\))?)\s*$"
)


def _rate_of_counter(query: str) -> str | None:
    bare = re.fullmatch(rf"\s*({_SELECTOR})\s*", query)
    if bare:
        return f"sum(rate({bare.group(1)}[{{{{.window}}}}]))"
    match = _SUM_OF_SELECTOR.match(query)
    if match and match.group("agg"):
        return f"{match.group('agg')}(rate({match.group('sel')}[{{{{.window}}}}])){match.group('tail')}"
    return None


def duration_text(seconds: Decimal) -> str:
    """Seconds as a Prometheus duration (0.2 -> 200ms, 5 -> 5s)."""
    millis = seconds * 1000
    if millis != millis.to_integral_value():
        raise ValueError(f"{seconds}s is finer than a millisecond")
    whole = int(millis)
    return f"{whole // 1000}s" if whole % 1000 == 0 else f"{whole}ms"


def sloforge_window(raw: str, path: PathKey) -> str:
    """An SLO window as whole days or weeks between 1d and 90d, or Unsupported."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", raw)
    if not match:
        raise Unsupported(path, f"window {raw!r} (sloforge windows are whole days or weeks, 1d..90d)")
    count, unit = int(match.group(1)), match.group(2)
    days = count / 24 if unit == "h" else count * (7 if unit == "w" else 1)
    if days != int(days) or not 1 <= days <= 90:
        raise Unsupported(path, f"window {raw!r} (sloforge windows are whole days or weeks, 1d..90d)")
    return f"{int(days)}d" if unit == "h" else f"{count}{unit}"
