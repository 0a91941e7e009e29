"""What every rule-test group builder shares: limits, the group itself, the errors that skip one, small helpers.

See `generator/targets/rule_tests/__init__.py` for what the tests prove.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

from generator.model.burn import Evaluation
from generator.model.slo import SLO, Service, Settings, Tier
from generator.model.synthetic import InputPlan, Phase, ShapeMemo, Synthesis, synthesize
from generator.model.warnings import SpecWarning
from generator.targets import labels as L
from generator.units.durations import format_duration as _format_duration

TESTS_DIR = "prometheus/tests"
TARGET_STEPS = 250  # evaluations per test group: keeps each service's tests at a few seconds
QUERY_SAMPLE_LIMIT = 9000  # promtool refuses queries that load more than 10,000 samples
STEP_LADDER_MS = (300_000, 3_600_000, 21_600_000, 86_400_000)  # coarser steps: 5m, 1h, 6h, 1d
FIRE_FACTOR = Fraction(5, 4)  # "a bit above the threshold"
SILENT_FACTOR = Fraction(4, 5)  # "a bit below the threshold"
VALUE_TOLERANCE = 1e-9  # relative, for recorded values: promtool compares floats exactly
RATIO_TOLERANCE = Fraction(1, 100)  # synthesized ratios stay within 1% of the wanted ones
OUTAGE_TOLERANCE = Fraction(1, 10_000)
RATIO_CHECK_LEAD_MS = 2 * 86_400_000  # the window check runs this long past one SLO window


def tests_path(service: str, step: str | None = None) -> str:
    """`<service>.test.yaml` at the rules' interval, `<service>.<step>.test.yaml` at a coarser step."""
    return f"{TESTS_DIR}/{service}{'.' + step if step else ''}.test.yaml"


class Skip(Exception):
    """A test group cannot be generated; the message becomes a render warning."""


class Boundary(Skip):
    """The expected annotation text depends on float rounding; other inputs avoid it."""


class GroupKind(StrEnum):
    """What a test group checks; groups are written in this order (see `placement`)."""

    ZERO = "zero"  # zero traffic
    OUTAGE = "outage"  # full outage: the fastest page tier fires in time
    FIRES = "fires"  # a bit above the threshold: fires on time, resets
    SILENT = "silent"  # a bit below the threshold: never pending
    RATIOS = "ratios"  # recorded window ratios equal the model's
    NIGHT = "night"  # low traffic: a handful of bad events does not page
    INCIDENT = "incident"  # low traffic: a real outage pages


@dataclass
class RuleTestGroup:
    name: str
    interval_ms: int
    input_series: list[dict] = field(default_factory=list)
    alert_rule_test: list[dict] = field(default_factory=list)
    promql_expr_test: list[dict] = field(default_factory=list)

    def alert(self, at_ms: int, alertname: str, alerts: list[dict]) -> None:
        self.alert_rule_test.append({"eval_time": format_duration(at_ms), "alertname": alertname, "exp_alerts": alerts})

    def expr(self, at_ms: int, expr: str, samples: list[dict]) -> None:
        self.promql_expr_test.append({"expr": expr, "eval_time": format_duration(at_ms), "exp_samples": samples})

    def as_dict(self) -> dict:
        result: dict = {"name": self.name, "interval": format_duration(self.interval_ms)}
        result["input_series"] = self.input_series
        if self.alert_rule_test:
            result["alert_rule_test"] = self.alert_rule_test
        if self.promql_expr_test:
            result["promql_expr_test"] = self.promql_expr_test
        return result


format_duration = lru_cache(maxsize=1 << 14)(_format_duration)  # pure; the same few times recur per SLO


def ceil_to(value_ms: int, step_ms: int) -> int:
    return -(-value_ms // step_ms) * step_ms


@lru_cache(maxsize=1 << 12)
def as_fraction(value: Decimal) -> Fraction:
    return Fraction(str(value))


def percent(ratio: Fraction) -> str:
    """Readable, not exact: group names only."""
    return f"{float(ratio) * 100:.4g}%"


def multiple(ratio: Fraction, threshold: Fraction) -> str:
    return f"{float(ratio / threshold):.3g}"


def slo_selector(slo: SLO, **extra: str) -> str:
    return L.selector(slo.service, slo.name, **extra)


def alerts_series(alertname: str, slo: SLO, state: str | None = None) -> str:
    pairs = {L.ALERTNAME: alertname, **({"alertstate": state} if state else {})}
    inner = ",".join(f'{key}="{value}"' for key, value in pairs.items())
    return f'ALERTS{{{inner},{L.SERVICE}="{slo.service}",{L.SLO}="{slo.name}"}}'


def sample_labels(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


def close_to(expr: str, value: float) -> str:
    """1 when `expr` is within rounding of `value`: promtool compares floats exactly, sums may round."""
    tolerance = max(abs(value) * VALUE_TOLERANCE, 1e-15)
    return f"abs({expr} - ({value!r})) <= bool {tolerance:.1e}"


def identity(slo: SLO, window: str) -> dict[str, str]:
    return {L.SERVICE: slo.service, L.SLO: slo.name, L.WINDOW: window}


@dataclass(frozen=True)
class Subject:
    """One SLO under test: its input plan, and the memo of the render it belongs to."""

    slo: SLO
    service: Service
    settings: Settings
    plan: InputPlan
    memo: ShapeMemo = field(compare=False, repr=False)
    also_feeds: tuple[str, ...] = ()  # other SLOs whose rules read this SLO's synthetic series

    def synthesis(self, ratios: list[Fraction], tolerance: Fraction = RATIO_TOLERANCE) -> Synthesis:
        return synthesize(self.plan, ratios, tolerance)


def evaluate(synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int) -> Evaluation:
    try:
        return synthesis.evaluation(phases, step, end)
    except ValueError as exc:
        raise Skip(str(exc)) from exc


@dataclass
class Part:
    """One SLO's share of a merged group: inputs, the times that matter, its expected alert."""

    subject: Subject
    tier: Tier | None
    synthesis: Synthesis
    ratio: Fraction
    phases: tuple[Phase, ...]
    start: int = 0  # when the errors start
    pending: int = 0
    fired: int = 0
    resolved: int = 0
    nudge: int = 0


def warn(warnings: list[SpecWarning], subject: Subject, tier: Tier | None, what: str, exc: Exception) -> None:
    """A test left out, and why: a warning, never a silent skip."""
    what = f"tier {tier.name} ({what})" if tier else what
    warnings.append(SpecWarning(subject.slo.source, subject.slo.key, f"no rule test for {what}: {exc}"))


def inputs_of(parts: list[Part], end: int, step: int) -> list[dict]:
    return [
        series for part in parts for series in part.synthesis.input_series(part.phases, end, step, part.subject.memo)
    ]
