"""promtool unit tests proving every SLO's alerts fire when they should and stay silent otherwise.

For each SLO and enabled tier the tests feed synthetic series to the SLO's own
SLI queries (see `test_inputs`) and assert, at times predicted by the burn-rate
model (`generator.model.burn`), never copied from promtool:

- fires: a bit above the threshold the tier fires by the predicted evaluation
  plus one step of slack, and is not firing two steps before it;
- reset: once errors stop it stops firing, again within one step of the prediction;
- silent: a bit below the threshold it is never even pending over its long window;
- full outage: the fastest page tier fires within its predicted detection time;
- no data and zero traffic: no burn alert, and `SLOSLIMissing` fires only for absent SLIs;
- the recorded error ratios over every window equal the model's (traffic-weighted) values.

promtool evaluates a whole test file at one `evaluation_interval`, refuses
queries over 10,000 samples and takes time per evaluation, so each group runs
at the finest step of a short ladder (the rules' own interval, 5m, 1h, 6h, 1d)
that keeps it to a few hundred evaluations (the window-ratio check, a single
instant, at the coarsest): `<service>.test.yaml` holds the groups at the
rules' interval, `<service>.<step>.test.yaml` the others. All SLOs of a service
share each group: their inputs are disjoint, and promtool evaluates every rule
group of the file at every step anyway. An SLO whose series other SLOs read too
(availability from a histogram's `_count` beside latency from its `_bucket`,
two objectives on the same counters) gets groups of its own instead, whose
checks select that SLO's alerts only: the other SLOs' rules see its inputs too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import TypeVar

from generator.model.burn import Evaluation, detection_seconds, fires_at_all
from generator.model.severity import missing_sli_class
from generator.model.slo import SLO, Model, Service, Settings, Tier
from generator.model.warnings import SpecWarning
from generator.targets import labels as L
from generator.targets.alert_text import FUNCTIONS, TemplateUnsupported, expand
from generator.targets.rules import alert_rule, missing_sli_rule, rules_path, windows_of
from generator.targets.test_inputs import (
    InputPlan,
    Phase,
    Synthesis,
    Unsupported,
    by_metric,
    escape_label_value,
    feeds_selectors,
    phases_key,
    plan_inputs,
    quantize,
    resolution,
    sli_selectors,
    synthesize,
)
from generator.targets.yaml_text import dump_yaml
from generator.units.durations import format_duration as _format_duration
from generator.units.durations import human_duration
from generator.units.numbers import format_number

_T = TypeVar("_T")

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


class _Skip(Exception):
    """A test group cannot be generated; the message becomes a render warning."""


class _Boundary(_Skip):
    """The expected annotation text depends on float rounding; other inputs avoid it."""


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


@dataclass(frozen=True)
class ServiceTests:
    files: tuple[tuple[str, str], ...]  # (path, text)
    warnings: tuple[SpecWarning, ...]


def render_rule_tests(model: Model) -> dict[str, str]:
    return {path: text for service in model.services for path, text in service_tests(service, model.settings).files}


def rule_test_warnings(model: Model) -> list[SpecWarning]:
    """SLOs or tiers left without generated tests, and why (never skipped silently)."""
    return [warning for service in model.services for warning in service_tests(service, model.settings).warnings]


# --- small helpers -------------------------------------------------------------------------


format_duration = lru_cache(maxsize=1 << 14)(_format_duration)  # pure; the same few times recur per SLO


def _ceil(value_ms: int, step_ms: int) -> int:
    return -(-value_ms // step_ms) * step_ms


@lru_cache(maxsize=1 << 12)
def _fraction(value: Decimal) -> Fraction:
    return Fraction(str(value))


def _percent(ratio: Fraction) -> str:
    """Readable, not exact: group names only."""
    return f"{float(ratio) * 100:.4g}%"


def _multiple(ratio: Fraction, threshold: Fraction) -> str:
    return f"{float(ratio / threshold):.3g}"


def _selector(slo: SLO, **extra: str) -> str:
    return L.selector(slo.service, slo.name, **extra)


def _alerts_series(alertname: str, slo: SLO, state: str | None = None) -> str:
    pairs = {L.ALERTNAME: alertname, **({"alertstate": state} if state else {})}
    inner = ",".join(f'{key}="{value}"' for key, value in pairs.items())
    return f'ALERTS{{{inner},{L.SERVICE}="{slo.service}",{L.SLO}="{slo.name}"}}'


def _sample_labels(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


def _expected(rule: dict, value: float, sample_labels: dict[str, str]) -> dict:
    """exp_labels/exp_annotations of an alert: rule labels over the expression's labels, templates expanded."""
    return _expected_with(rule, sample_labels, _expansions(rule, value, sample_labels))


def _expansions(rule: dict, value: float, sample_labels: dict[str, str]) -> dict[str, str]:
    """Each template of the rule's labels, then annotations, expanded; text without `{{` is literal."""
    labels = tuple(sample_labels.items())
    try:
        return {
            text: _expand(text, value, sample_labels, labels)
            for part in ("labels", "annotations")
            for text in rule[part].values()
            if "{{" in text
        }
    except TemplateUnsupported as exc:
        raise _Skip(f"cannot predict the text of {rule['alert']}'s annotations: {exc}") from exc


def _expected_with(rule: dict, sample_labels: dict[str, str], expanded: dict[str, str]) -> dict:
    labels = dict(sample_labels)
    labels.update({key: expanded.get(text, text) for key, text in rule["labels"].items()})
    annotations = {key: expanded.get(text, text) for key, text in rule["annotations"].items()}
    return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(annotations.items()))}


def alert_values(slo: SLO, ratio: Fraction) -> list[float]:
    """`$value` as promtool may compute it: the short-window ratio's float, give or take two ulps, / the budget.

    A ratio of exactly 0 or 1 has identical error and total sums, so its float is exact.
    """
    return list(_alert_values(ratio, slo.error_budget))


@lru_cache(maxsize=1 << 12)
def _alert_values(ratio: Fraction, error_budget: Decimal) -> tuple[float, ...]:
    budget = float(format_number(error_budget))
    center = float(ratio)
    if ratio in (0, 1):
        return (center / budget,)
    values, low, high = [center], center, center
    for _ in range(2):
        low, high = math.nextafter(low, -math.inf), math.nextafter(high, math.inf)
        values += [low, high]
    return tuple(value / budget for value in values)


def burn_alert(slo: SLO, tier: Tier, settings: Settings, ratio: Fraction) -> dict:
    """The firing alert promtool must see: `$value` is the short-window burn rate."""
    sample = {L.SERVICE: slo.service, L.SLO: slo.name, L.WINDOW: tier.short_window.text}
    rule = alert_rule(slo, tier, settings)
    first, *others = values = _alert_values(ratio, slo.error_budget)
    expanded = _expansions(rule, first, sample)
    if (
        others
        and not _all_alike(values, sample, expanded)
        and not all(_expands_alike(rule, value, first, sample, expanded) for value in others)
    ):
        raise _Boundary(f"the alert value {first} sits on a rounding boundary of its annotation text")
    return _expected_with(rule, sample, expanded)


def _all_alike(values: tuple[float, ...], sample: dict[str, str], expanded: dict[str, str]) -> bool:
    """Whether every template is simple and each of its actions prints the same for all `values` (a shortcut)."""
    labels = tuple(sample.items())
    try:
        return all(
            parts is not None and all(_prints_alike(action, values, labels) for action in parts[1::2])
            for parts in map(_template_parts, expanded)
        )
    except Exception:  # any failure: decide value by value, as the rule would
        return False


def _prints_alike(action: str, values: tuple[float, ...], labels: tuple[tuple[str, str], ...]) -> bool:
    return _cached_prints_alike(action, values, labels if "$labels" in action else ())


@lru_cache(maxsize=1 << 14)
def _cached_prints_alike(action: str, values: tuple[float, ...], labels: tuple[tuple[str, str], ...]) -> bool:
    first = _action_text(action, values[0], labels)
    return all(_action_text(action, value, labels) == first for value in values[1:])


def _expands_alike(rule: dict, value: float, first: float, sample: dict[str, str], expanded: dict[str, str]) -> bool:
    """Whether `value` expands each template as `first` did (`expanded`), failing as `_expansions` would.

    Literal text does not depend on the value: a template whose actions each
    print the same for both values expands alike.
    """
    alike, labels = True, tuple(sample.items())
    for text in expanded:
        parts = _template_parts(text)
        try:
            if parts is not None and all(
                _action_text(action, value, labels) == _action_text(action, first, labels) for action in parts[1::2]
            ):
                continue
        except TemplateUnsupported:
            pass
        try:
            alike = _expand(text, value, sample, labels) == expanded[text] and alike
        except TemplateUnsupported as exc:
            raise _Skip(f"cannot predict the text of {rule['alert']}'s annotations: {exc}") from exc
    return alike


# Actions that only print `$value` or a label through the humanize functions:
# no quoting, no whitespace trimming, no state, so each prints the same
# wherever it stands, and its text is shared by every SLO with that value.
_OPERAND = r"(?:\$value|\$labels\.[A-Za-z_][A-Za-z0-9_]*)"
_FUNCTION = "(?:" + "|".join(re.escape(name) for name in sorted(FUNCTIONS)) + ")"
_SIMPLE_ACTION = re.compile(rf"\s*(?:{_OPERAND}|{_FUNCTION}\s+{_OPERAND})(?:\s*\|\s*{_FUNCTION})*\s*")
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def _expand(text: str, value: float, sample_labels: dict[str, str], labels: tuple[tuple[str, str], ...]) -> str:
    """`expand(text, value, sample_labels)`, put together from remembered actions where they are simple."""
    parts = _template_parts(text)
    if parts is None:
        return expand(text, value, sample_labels)
    try:
        texts = list(parts)
        for index in range(1, len(parts), 2):
            texts[index] = _action_text(parts[index], value, labels)
        return "".join(texts)
    except TemplateUnsupported:
        return expand(text, value, sample_labels)  # fails as it should


@lru_cache(maxsize=1 << 12)
def _template_parts(text: str) -> tuple[str, ...] | None:
    """Literal text and actions, alternately, when every action is simple; None otherwise."""
    parts: list[str] = []
    position = 0
    for match in _ACTION.finditer(text):
        if not _SIMPLE_ACTION.fullmatch(match.group(1)):
            return None
        parts += [text[position : match.start()], match.group(0)]
        position = match.end()
    if len(parts) // 2 != text.count("{{"):
        return None  # an unclosed action
    parts.append(text[position:])
    return tuple(parts)


def _action_text(action: str, value: float, labels: tuple[tuple[str, str], ...]) -> str:
    """One simple action's text; remembered on the labels only when it reads them."""
    return _cached_action_text(action, value, labels if "$labels" in action else ())


@lru_cache(maxsize=1 << 14)
def _cached_action_text(action: str, value: float, labels: tuple[tuple[str, str], ...]) -> str:
    return expand(action, value, dict(labels))


def close_to(expr: str, value: float) -> str:
    """1 when `expr` is within rounding of `value`: promtool compares floats exactly, sums may round."""
    tolerance = max(abs(value) * VALUE_TOLERANCE, 1e-15)
    return f"abs({expr} - ({value!r})) <= bool {tolerance:.1e}"


def missing_alert(slo: SLO, settings: Settings) -> dict:
    sample = {L.SERVICE: slo.service, L.SLO: slo.name}
    return _expected(missing_sli_rule(slo, windows_of(slo)[0], settings), 1.0, sample)


def fastest_page_tier(slo: SLO) -> Tier | None:
    """The tier that should catch a full outage first: page tiers first, then any that can fire."""
    return _fastest_page_tier(slo.tiers, slo.error_budget)


def _fastest_page_tier(tiers: tuple[Tier, ...], error_budget: Decimal) -> Tier | None:
    candidates = [tier for tier in tiers if fires_at_all(tier)]
    pages = [tier for tier in candidates if tier.notify == "page"] or candidates
    if not pages:
        return None
    return min(pages, key=lambda tier: (detection_seconds(tier, error_budget, Decimal(1)), tier.name))


# --- what each SLO contributes ---------------------------------------------------------
#
# All SLOs of a service share their test groups: their input series are
# disjoint (checked), and promtool evaluates every rule group of the file at
# every step anyway, so one group per (kind, tier) keeps the cost linear in
# the number of SLOs. Per-SLO checks select by `slo_name`; checks on a whole
# alertname list every SLO's alert at a time where each is certain.


@dataclass(frozen=True)
class _Subject:
    slo: SLO
    service: Service
    settings: Settings
    plan: InputPlan
    also_feeds: tuple[str, ...] = ()  # other SLOs whose rules read this SLO's synthetic series

    def synthesis(self, ratios: list[Fraction], tolerance: Fraction = RATIO_TOLERANCE) -> Synthesis:
        return synthesize(self.plan, ratios, tolerance)

    def evaluate(self, synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int) -> Evaluation:
        return _evaluate(synthesis, phases, step, end)


def _evaluate(synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int) -> Evaluation:
    try:
        return synthesis.evaluation(phases, step, end)
    except ValueError as exc:
        raise _Skip(str(exc)) from exc


# --- numbers shared by SLOs of one shape ------------------------------------------------------
#
# What the model predicts for an SLO depends on its input plan's shape (how
# the rules sample it, its shortest window, the input interval), its error
# budget, the tier and the phases: never on its metric names or labels. A
# fleet has many SLOs of each shape, so every outcome below is computed once
# for a shape, from the label-free `InputPlan.shape`, and remembered on a key
# of exactly what determines it. A _Skip is remembered too and raised again.

_MEMO: dict[tuple, object] = {}
_MEMO_LIMIT = 1 << 17


def _memo(key: tuple, compute: Callable[[], _T]) -> _T:
    try:
        outcome = _MEMO[key]
    except KeyError:
        try:
            outcome = compute()
        except _Skip as exc:
            outcome = exc
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = outcome
    if isinstance(outcome, _Skip):
        raise type(outcome)(str(outcome))
    return outcome  # type: ignore[return-value]


@dataclass
class _Part:
    """One SLO's share of a merged group: inputs, the times that matter, its expected alert."""

    subject: _Subject
    tier: Tier | None
    synthesis: Synthesis
    ratio: Fraction
    phases: tuple[Phase, ...]
    start: int = 0  # when the errors start
    pending: int = 0
    fired: int = 0
    resolved: int = 0
    nudge: int = 0


def _fire_ratio(tier: Tier) -> Fraction:
    return min(_fraction(tier.threshold) * FIRE_FACTOR, Fraction(1))


def _rise(subject: _Subject, tier: Tier, step: int, nudge: int, ratio: Fraction | None = None) -> _Part:
    """Clean traffic for a long window, then errors; when does the tier first fire?"""
    slo, plan = subject.slo, subject.plan
    bits, ratio, phases, start, pending, fired = _memo(
        (
            "rise",
            plan.shape_id,
            slo.error_budget,
            tier,
            step,
            nudge,
            None if ratio is None else phases_key((Phase(0, ratio),)),
        ),
        lambda: _rise_numbers(plan.shape, slo, tier, step, nudge, ratio),
    )
    part = _Part(subject, tier, Synthesis(subject.plan, bits), ratio, phases, start, pending, fired)
    part.nudge = nudge
    return part


def _rise_numbers(
    shape: InputPlan, slo: SLO, tier: Tier, step: int, nudge: int, ratio: Fraction | None
) -> tuple[int, Fraction, tuple[Phase, ...], int, int, int]:
    wanted = _fire_ratio(tier) if ratio is None else ratio
    synthesis = synthesize(shape, [wanted], RATIO_TOLERANCE if ratio is None else OUTAGE_TOLERANCE)
    ratio = min(synthesis.quantize(wanted) + Fraction(nudge, 2**synthesis.bits), Fraction(1))
    start = _ceil(tier.long_window.millis, step)
    phases = (Phase(0, Fraction(0)), Phase(start, ratio))
    expected = int(tier.long_window.millis * _fraction(tier.threshold) / ratio) + shape.raw_ms + tier.for_.millis
    for horizon in (start + expected * 5 // 4 + 4 * step, start + 2 * tier.long_window.millis + expected):
        evaluation = _evaluate(synthesis, phases, step, _ceil(horizon, step))
        firing = [span for span in evaluation.tier_spans(slo, tier, near_ties=False) if span.firing_ms is not None]
        if firing:
            return synthesis.bits, ratio, phases, start, firing[0].pending_ms, firing[0].firing_ms or 0
    raise _Skip(f"the model predicts {tier.name} never fires at {_percent(ratio)} errors")


def _firing_at(part: _Part, deadline: int, step: int, stop: bool) -> tuple[dict, int]:
    """The part's expected alert at `deadline` (errors stop there when `stop`) and when it resolves."""
    subject, tier = part.subject, part.tier
    assert tier is not None
    plan, bits, before = subject.plan, part.synthesis.bits, part.phases
    phases, short, resolved = _memo(
        ("firing", plan.shape_id, bits, subject.slo.error_budget, tier, phases_key(before), deadline, step, stop),
        lambda: _firing_numbers(Synthesis(plan.shape, bits), subject.slo, tier, before, deadline, step, stop),
    )
    part.phases = phases
    return burn_alert(subject.slo, tier, subject.settings, short), resolved


def _firing_numbers(
    synthesis: Synthesis, slo: SLO, tier: Tier, phases: tuple[Phase, ...], deadline: int, step: int, stop: bool
) -> tuple[tuple[Phase, ...], Fraction, int]:
    phases = phases + ((Phase(deadline, Fraction(0)),) if stop else ())
    end = deadline + tier.short_window.millis + synthesis.plan.raw_ms + tier.for_.millis + 4 * step
    evaluation = _evaluate(synthesis, phases, step, end if stop else deadline)
    span = next((s for s in evaluation.tier_spans(slo, tier, near_ties=False) if s.firing_at(deadline)), None)
    if span is None or (stop and span.resolved_ms is None):
        raise _Skip(f"the model predicts {tier.name} is not firing at {format_duration(deadline)} or never resets")
    short = evaluation.ratio(deadline // step, tier.short_window.millis) or Fraction(0)
    return phases, short, span.resolved_ms or 0


def _merged_firing(
    items: list[tuple[_Subject, Tier]], step: int, warnings: list[SpecWarning], *, outage: bool
) -> tuple[list[_Part], int, list[dict]]:
    """Each SLO rises to firing; one deadline after the last of them fires; errors stop there (not for outages)."""
    nudges: dict[str, int] = {}
    kind = "outage" if outage else "fires"
    for _ in range(4):
        parts = []
        for subject, tier in list(items):
            try:
                ratio = Fraction(1) if outage else None
                parts.append(_rise(subject, tier, step, nudges.get(subject.slo.key, 0), ratio))
            except _Skip as exc:
                _warn(warnings, subject, tier, kind, exc)
                items = [item for item in items if item[0] is not subject]
        if not parts:
            return [], 0, []
        deadline = max(part.fired for part in parts) + step
        alerts, retry = [], False
        for part in list(parts):
            try:
                alert, part.resolved = _firing_at(part, deadline, step, stop=not outage)
                alerts.append(alert)
            except _Skip as exc:
                if isinstance(exc, _Boundary) and not outage and part.nudge < 3:
                    nudges[part.subject.slo.key] = part.nudge + 1  # one quantum more error: other text
                    retry = True
                    continue
                _warn(warnings, part.subject, part.tier, kind, exc)
                parts.remove(part)
                items = [item for item in items if item[0] is not part.subject]
        if not retry:
            return parts, deadline, alerts
    raise _Skip("the alert text stays on a rounding boundary")


def _warn(warnings: list[SpecWarning], subject: _Subject, tier: Tier | None, kind: str, exc: Exception) -> None:
    what = f"tier {tier.name} ({kind})" if tier else kind
    warnings.append(SpecWarning(subject.slo.source, subject.slo.key, f"no rule test for {what}: {exc}"))


def _inputs(parts: list[_Part], end: int, step: int) -> list[dict]:
    return [series for part in parts for series in part.synthesis.input_series(part.phases, end, step)]


def _fires_on_time(group: RuleTestGroup, part: _Part, step: int) -> None:
    """This SLO's alert: no firing sample until two evaluations before it should fire, firing one after."""
    assert part.tier is not None
    series = _alerts_series(part.tier.alert_name, part.subject.slo, "firing")
    quiet = part.fired - 2 * step
    if quiet > 0:
        group.expr(quiet, f"count_over_time({series}[{format_duration(quiet)}])", [])
    group.expr(part.fired + step, f"count({series})", [{"labels": "{}", "value": 1}])


def fires_group(items: list[tuple[_Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Clean traffic for a long window, then errors a bit above each SLO's threshold until all fire, then none."""
    parts, deadline, alerts = _merged_firing(items, step, warnings, outage=False)
    if not parts:
        return None
    tier = parts[0].tier
    assert tier is not None
    reset_check = max(part.resolved for part in parts) + step
    details = "; ".join(
        f"{part.subject.slo.name} at {_percent(part.ratio)} errors "
        f"({_multiple(part.ratio, _fraction(part.tier.threshold))}x) fires within "  # type: ignore[union-attr]
        f"{format_duration(part.fired + step - part.start)}"
        for part in parts
    )
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} {tier.name}: fires a bit above the threshold, not two evaluations "
        f"earlier, and stops once errors stop ({details})",
        parts[0].subject.plan.interval_ms,
        _inputs(parts, reset_check, step),
    )
    first_quiet = min(part.pending for part in parts) - 2 * step
    if first_quiet >= 0:
        group.alert(first_quiet, tier.alert_name, [])
    for part in parts:
        _fires_on_time(group, part, step)
    group.alert(deadline, tier.alert_name, sorted(alerts, key=str))
    for part in parts:  # each SLO's own reset, one evaluation after the model's
        series = _alerts_series(tier.alert_name, part.subject.slo)
        group.expr(part.resolved + step, f"count({series})", [])
    group.alert(reset_check, tier.alert_name, [])
    return group


def outage_group(items: list[tuple[_Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Clean traffic, then every event fails: the fastest page tier fires within its detection time."""
    parts, deadline, alerts = _merged_firing(items, step, warnings, outage=True)
    if not parts:
        return None
    tier = parts[0].tier
    assert tier is not None
    details = "; ".join(
        f"{part.subject.slo.name} within {format_duration(part.fired + step - part.start)} (Workbook detection "
        f"{human_duration(detection_seconds(tier, part.subject.slo.error_budget, Decimal(1)))})"
        for part in parts
    )
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} full outage: {tier.name} fires within its detection time, plus for "
        f"{tier.for_}, the rate window filling and one evaluation ({details})",
        parts[0].subject.plan.interval_ms,
        _inputs(parts, deadline, step),
    )
    for part in parts:
        _fires_on_time(group, part, step)
    group.alert(deadline, tier.alert_name, sorted(alerts, key=str))
    _metrics_vanish(group, parts, deadline, step)
    return group


def _metrics_vanish(group: RuleTestGroup, parts: list[_Part], deadline: int, step: int) -> None:
    """The inputs end at `deadline`, as when the outage takes the metrics with it: once the
    SLI is absent for `missing_sli_for`, the page still fires and SLOSLIMissing notifies like it."""
    tier = parts[0].tier
    assert tier is not None
    blind = max(
        _ceil(deadline + windows_of(p.subject.slo)[0].millis + p.subject.settings.missing_sli_for.millis, step)
        for p in parts
    )
    at = blind + 2 * step
    group.name += (
        f"; then the metrics vanish: at {format_duration(at)} {tier.name} still fires and SLOSLIMissing notifies"
    )
    one = [{"labels": "{}", "value": 1}]
    for part in parts:
        slo = part.subject.slo
        group.expr(at, f"count({_alerts_series(tier.alert_name, slo, 'firing')})", one)
        missing = (
            _alerts_series(L.MISSING_SLI_ALERT, slo, "firing")[:-1] + f',{L.NOTIFY}="{missing_sli_class(slo)[0]}"}}'
        )
        group.expr(at, f"count({missing})", one)


def silent_group(items: list[tuple[_Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Errors a bit below each threshold (100% for a tier that cannot fire): never even pending."""
    parts = []
    for subject, tier in items:
        bits, ratio, phases = _silent_phases(tier.threshold)
        parts.append(_Part(subject, tier, Synthesis(subject.plan, bits), ratio, phases))
    end = max(
        _ceil(t.long_window.millis + t.short_window.millis + s.plan.raw_ms + t.for_.millis + step, step)
        for s, t in items
    )
    kept = []
    for part in parts:
        try:
            plan, slo = part.subject.plan, part.subject.slo
            key = ("silent", plan.shape_id, slo.error_budget, part.tier, step, end)  # the tier sets the phases
            _memo(key, lambda part=part: _never_pending(part, step, end))  # type: ignore[misc]
            kept.append(part)
        except _Skip as exc:
            _warn(warnings, part.subject, part.tier, "silent", exc)
    if not kept:
        return None
    tier = kept[0].tier
    assert tier is not None
    details = "; ".join(
        f"{part.subject.slo.name} at {_percent(part.ratio)} errors "
        f"({_multiple(part.ratio, _fraction(part.tier.threshold))}x"  # type: ignore[union-attr]
        f"{', a tier that can never fire' if part.tier.threshold >= 1 else ''})"  # type: ignore[union-attr]
        for part in kept
    )
    service = kept[0].subject.service.name
    group = RuleTestGroup(
        f"{service} {tier.name}: silent a bit below the threshold for {format_duration(end)} ({details})",
        kept[0].subject.plan.interval_ms,
        _inputs(kept, end, step),
    )
    group.alert(end, tier.alert_name, [])
    alerts = f'ALERTS{{{L.ALERTNAME}="{tier.alert_name}",{L.SERVICE}="{service}"}}'
    group.expr(end, f"count_over_time({alerts}[{format_duration(end)}])", [])
    return group


@lru_cache(maxsize=1 << 10)
def _silent_phases(threshold: Decimal) -> tuple[int, Fraction, tuple[Phase, ...]]:
    """A bit below the threshold (100% for a tier that cannot fire): resolution, ratio, phases."""
    value = _fraction(threshold)
    wanted = value * SILENT_FACTOR if value < 1 else Fraction(1)
    bits = resolution((wanted,), RATIO_TOLERANCE)
    ratio = quantize(wanted, bits)
    return bits, ratio, (Phase(0, ratio),)


def _never_pending(part: _Part, step: int, end: int) -> None:
    synthesis = Synthesis(part.synthesis.plan.shape, part.synthesis.bits)
    evaluation = _evaluate(synthesis, part.phases, step, end)
    if evaluation.tier_spans(part.subject.slo, part.tier, near_ties=False):  # type: ignore[arg-type]
        raise _Skip(f"the model predicts it becomes pending at {_percent(part.ratio)} errors")


# --- low traffic (model.low_traffic) ------------------------------------------------------
#
# Busy days, then traffic stops for QUIET_MS, then a trickle of events per
# minute for a long window. On that trickle a handful of bad events (one fewer
# than the guard) is far above the threshold but must not page (night), while
# a real outage pages once the long window holds the guard's count (incident).
# The model predicts both with the guard and, to prove the night test can
# fail, without it: the same handful must page a guard-free rule.

QUIET_MS = 2 * 3_600_000  # the night: no traffic at all for two hours


def _night_start(tier: Tier, raw_ms: int) -> int:
    """When the trickle is a long window old: the handful (or the outage) starts here."""
    return 2 * raw_ms + QUIET_MS + tier.long_window.millis


def _trickle(subject: _Subject, tier: Tier, handful: bool) -> tuple[Synthesis, Fraction]:
    """Full-outage resolution and a traffic multiple (thousandths of events per input sample).

    Night: low enough that `min_bad_events - 1` bad events over the long
    window burn a bit above the threshold (FIRE_FACTOR). Incident: a full
    outage collects `min_bad_events` in half the long window.
    """
    synthesis = subject.synthesis([Fraction(1)])
    interval_s = Fraction(subject.plan.interval_ms, 1000)
    long_s = Fraction(tier.long_window.millis, 1000)
    if handful:
        per_second = (tier.min_bad_events - 1) / (FIRE_FACTOR * _fraction(tier.threshold) * long_s)
        per_sample = Fraction(math.floor(per_second * interval_s * 1000), 1000)
    else:
        per_second = 2 * tier.min_bad_events / long_s
        per_sample = Fraction(math.ceil(per_second * interval_s * 1000), 1000)
    if per_sample <= 0:
        raise _Skip("its threshold is too high for a handful of bad events to burn faster than it")
    return synthesis, per_sample / interval_s / synthesis.base_rate


def _night_phases(subject: _Subject, tier: Tier, handful: bool) -> tuple[Synthesis, tuple[Phase, ...], Fraction]:
    """Busy, quiet, trickle; then `min_bad_events - 1` bad events (handful) or a full outage."""
    synthesis, traffic = _trickle(subject, tier, handful)
    raw = subject.plan.raw_ms
    start = _night_start(tier, raw)
    phases = (
        Phase(0, Fraction(0)),
        Phase(2 * raw, Fraction(0), traffic=0),
        Phase(2 * raw + QUIET_MS, Fraction(0), traffic=traffic),
        Phase(start, Fraction(1), traffic=traffic),
    )
    rate = synthesis.base_rate * traffic  # events per second on the trickle
    if handful:
        burst_ms = int((tier.min_bad_events - 1) / rate * 1000)
        phases += (Phase(start + burst_ms, Fraction(0), traffic=traffic),)
    return synthesis, phases, rate


def _spans(subject: _Subject, tier: Tier, synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int):
    """The tier's alert spans with the guard, and without it (what the rules did before)."""
    evaluation = _evaluate(synthesis, phases, step, end)
    guarded = evaluation.tier_spans(subject.slo, tier, near_ties=False)
    unguarded = evaluation.tier_spans(subject.slo, replace(tier, min_bad_events=0), near_ties=False)
    return guarded, unguarded


def night_group(items: list[tuple[_Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """The night scenario: a handful of bad events on a trickle of traffic pages a guard-free rule, not this one."""
    parts, details = [], []
    end = 0
    for subject, tier in items:
        try:
            synthesis, phases, rate = _night_phases(subject, tier, handful=True)
            length = _ceil(_night_start(tier, subject.plan.raw_ms) + 2 * tier.long_window.millis, step)
            guarded, unguarded = _spans(subject, tier, synthesis, phases, step, length)
            if guarded:
                raise _Skip(f"the model predicts {tier.min_bad_events - 1} bad events page even with the guard")
            if not any(span.firing_ms is not None for span in unguarded):
                raise _Skip("the model predicts the handful would not page a guard-free rule either")
        except _Skip as exc:
            _warn(warnings, subject, tier, "night", exc)
            continue
        end = max(end, length)
        parts.append(_Part(subject, tier, synthesis, Fraction(1), phases))
        details.append(
            f"{subject.slo.name}: {tier.min_bad_events - 1} bad events at {format_number(Decimal(rate.numerator) / rate.denominator * 60)} "
            f"events/min, below min_bad_events {tier.min_bad_events}"
        )
    if not parts:
        return None
    tier = parts[0].tier
    assert tier is not None
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} {tier.name} low traffic: busy, {format_duration(QUIET_MS)} without "
        f"traffic, then a trickle with a handful of bad events: far above the threshold, no page ("
        + "; ".join(details)
        + ")",
        parts[0].subject.plan.interval_ms,
        _inputs(parts, end, step),
    )
    group.alert(end, tier.alert_name, [])
    for part in parts:
        series = _alerts_series(tier.alert_name, part.subject.slo)
        group.expr(end, f"count_over_time({series}[{format_duration(end)}])", [])
    return group


def incident_group(items: list[tuple[_Subject, Tier]], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """A real outage on the same trickle pages, once the long window holds `min_bad_events` bad events."""
    parts, details = [], []
    for subject, tier in items:
        try:
            synthesis, phases, rate = _night_phases(subject, tier, handful=False)
            start = _night_start(tier, subject.plan.raw_ms)
            guarded, unguarded = _spans(subject, tier, synthesis, phases, step, start + tier.long_window.millis)
            fired = next((span.firing_ms for span in guarded if span.firing_ms is not None), None)
            if fired is None:
                raise _Skip("the model predicts a full outage on the trickle does not page within its long window")
        except _Skip as exc:
            _warn(warnings, subject, tier, "incident", exc)
            continue
        part = _Part(subject, tier, synthesis, Fraction(1), phases, start=start, fired=fired)
        parts.append(part)
        before = next((span.firing_ms for span in unguarded if span.firing_ms is not None), fired)
        details.append(
            f"{subject.slo.name} within {format_duration(fired + step - start)} "
            f"({tier.min_bad_events} bad events at {format_number(Decimal(rate.numerator) / rate.denominator * 60)} "
            f"events/min; a guard-free rule: {format_duration(before + step - start)})"
        )
    if not parts:
        return None
    tier = parts[0].tier
    assert tier is not None
    deadline = max(part.fired for part in parts) + step
    group = RuleTestGroup(
        f"{parts[0].subject.service.name} {tier.name} low traffic: busy, {format_duration(QUIET_MS)} without "
        f"traffic, then a full outage on a trickle pages once the long window holds min_bad_events ("
        + "; ".join(details)
        + ")",
        parts[0].subject.plan.interval_ms,
        _inputs(parts, deadline, step),
    )
    for part in parts:
        _fires_on_time(group, part, step)
    return group


def _missing_firing(settings: Settings, step: int) -> int:
    return _ceil(settings.missing_sli_for.millis, step)


def zero_traffic_group(subjects: list[_Subject], step: int) -> RuleTestGroup:
    """Counters that stand still: no burn alert; `SLOSLIMissing` only where the SLI becomes absent."""
    service, settings = subjects[0].service, subjects[0].settings
    fires = _missing_firing(settings, step)
    end = fires + step
    inputs, present, checks = [], set(), []
    phases = (Phase(0, Fraction(0), traffic=0),)
    for subject in subjects:
        synthesis = subject.synthesis([])
        plan = subject.plan
        missing, recorded = _memo(
            ("zero", plan.shape_id, synthesis.bits, step, end, settings.missing_sli_for.millis),
            lambda plan=plan, bits=synthesis.bits: _zero_traffic_numbers(  # type: ignore[misc]
                Synthesis(plan.shape, bits), phases, step, end, settings
            ),
        )
        inputs += synthesis.input_series(phases, end, step)
        if not missing:
            present.add(subject.slo.key)
        raw = windows_of(subject.slo)[0]
        total = f"{L.TOTAL_RATE}{raw}"
        labels = _sample_labels(total, _identity(subject.slo, raw.text))
        checks.append((f"{total}{_selector(subject.slo)}", [{"labels": labels, "value": 0}] if recorded else []))
    silent = ", ".join(sorted(key.split("/", 1)[1] for key in present)) or "none"
    group = RuleTestGroup(
        f"{service.name}: zero traffic (counters stand still): no burn alert; SLOSLIMissing stays silent where zero "
        f"events are recorded as 0 ({silent}) and fires where a ratio of no events is undefined or the SLI is absent",
        subjects[0].plan.interval_ms,
        inputs,
    )
    if fires - step >= 0:
        group.alert(fires - step, L.MISSING_SLI_ALERT, [])
    expected = [missing_alert(slo, settings) for slo in service.slos if slo.key not in present]
    group.alert(end, L.MISSING_SLI_ALERT, sorted(expected, key=str))
    for alertname in sorted({tier.alert_name for slo in service.slos for tier in slo.tiers}):
        group.alert(end, alertname, [])
    for expr, samples in checks:
        group.expr(end, expr, samples)
    return group


def _zero_traffic_numbers(
    synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int, settings: Settings
) -> tuple[bool, bool]:
    """Whether SLOSLIMissing fires at `end`, and whether a total is recorded there."""
    evaluation = _evaluate(synthesis, phases, step, end)
    missing = any(span.firing_at(end) for span in evaluation.missing_spans(settings.missing_sli_for.millis))
    return missing, evaluation.records[end // step] is not None


def _identity(slo: SLO, window: str) -> dict[str, str]:
    return {L.SERVICE: slo.service, L.SLO: slo.name, L.WINDOW: window}


def ratios_group(subjects: list[_Subject], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    """Phases of different error ratios and traffic: every recorded window ratio equals the model's."""
    end = _ceil(max(subject.slo.window.millis for subject in subjects) + RATIO_CHECK_LEAD_MS, step)
    inputs: list[dict] = []
    checks: list[tuple[str, list[dict]]] = []
    kinds = set()
    for subject in subjects:
        slo, plan = subject.slo, subject.plan
        windows = windows_of(slo)
        millis = tuple(w.millis for w in windows)
        try:
            bits, phases, ratios, remaining = _memo(
                ("ratios", plan.shape_id, slo.error_budget, slo.window.millis, millis, step, end),
                lambda plan=plan, slo=slo, millis=millis: _recorded_ratios(  # type: ignore[misc]
                    plan, slo.error_budget, slo.window.millis, millis, step, end
                ),
            )
        except _Skip as exc:
            _warn(warnings, subject, None, "recorded ratios", exc)
            continue
        kinds.add(
            {"counters": "traffic-weighted", "samples": "weighted by samples"}.get(
                subject.plan.sampling, "time-averaged (raw ratio)"
            )
        )
        inputs += Synthesis(plan, bits).input_series(phases, end, step)
        values = [(L.error_ratio_series(w.text), w.text, value) for w, value in zip(windows, ratios, strict=True)]
        if remaining is not None:
            values.append((L.BUDGET_REMAINING, slo.window.text, remaining))
        selector = _selector(slo)
        for name, window_text, value in values:
            series = f"{name}{selector}"
            if value is None:
                checks.append((series, []))
            else:
                labels = _sample_labels("", _identity(slo, window_text))
                checks.append((close_to(series, value), [{"labels": labels, "value": 1}]))
    if not inputs:
        return None
    group = RuleTestGroup(
        f"{subjects[0].service.name}: recorded error ratios over every window ({', '.join(sorted(kinds))}); "
        "data older than the SLO window is left out",
        subjects[0].plan.interval_ms,
        inputs,
    )
    for expr, samples in checks:
        group.expr(end, expr, samples)
    return group


def _recorded_ratios(
    plan: InputPlan, error_budget: Decimal, window: int, windows: tuple[int, ...], step: int, end: int
) -> tuple[int, tuple[Phase, ...], tuple[float | None, ...], float | None]:
    """Resolution, phases, the recorded ratio over each window at `end` and the budget left (floats)."""
    budget = _fraction(error_budget)
    weighted = plan.sampling == "counters"
    wanted = [
        Fraction(1, 2),
        min(budget / 2, Fraction(1)),
        min(budget * 3, Fraction(1)),
        min(budget * 2, Fraction(1)),
    ]
    synthesis = synthesize(plan.shape, wanted, RATIO_TOLERANCE)
    junk, first, second, third = (synthesis.quantize(ratio) for ratio in wanted)
    phases = (
        Phase(0, junk),  # older than the SLO window: must not count
        Phase(end - window, first),
        Phase(end - window // 2, second, traffic=3 if weighted else 1),
        Phase(end - 90 * 60_000, third),
    )
    evaluation = _evaluate(synthesis, phases, step, end)
    ratios = [evaluation.ratio(end // step, millis) for millis in windows]
    ratio = evaluation.ratio(end // step, window)
    remaining = None if ratio is None else float(1 - ratio / budget)
    return synthesis.bits, phases, tuple(None if r is None else float(r) for r in ratios), remaining


def no_data_group(service: Service, settings: Settings, step: int) -> RuleTestGroup:
    """No series at all: every SLO's SLOSLIMissing fires after `missing_sli_for`, no burn alert ever."""
    fires = _missing_firing(settings, step)
    group = RuleTestGroup(
        f"{service.name}: no data: SLOSLIMissing fires for every SLO after {settings.missing_sli_for}, no burn alert",
        step,
    )
    if fires - step >= 0:
        group.alert(fires - step, L.MISSING_SLI_ALERT, [])
    group.alert(fires, L.MISSING_SLI_ALERT, sorted((missing_alert(slo, settings) for slo in service.slos), key=str))
    for alertname in sorted({tier.alert_name for slo in service.slos for tier in slo.tiers}):
        group.alert(fires, alertname, [])
    burning = f'ALERTS{{{L.ALERTNAME}!="{L.MISSING_SLI_ALERT}",{L.SERVICE}="{service.name}"}}'
    group.expr(fires, f"count_over_time({burning}[{format_duration(fires)}])", [])
    return group


# --- placing groups in files -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """One SLO's part of a test group, with what its evaluation step must satisfy."""

    kind: str  # fires | silent | outage | zero | ratios
    subject: _Subject
    tier: Tier | None
    length_ms: int
    max_step_ms: int | None  # the step must leave a few evaluations per short window

    @property
    def key(self) -> tuple[int, str, int, str, str]:
        """Units with equal keys share a test group (and so its input sample interval).

        An SLO whose inputs feed other SLOs shares its groups with no one.
        """
        order = ("zero", "outage", "fires", "silent", "ratios", "night", "incident")
        alone = self.subject.slo.name if self.subject.also_feeds else ""
        tier = self.tier.name if self.tier else ""
        return (order.index(self.kind), tier, self.subject.plan.interval_ms, alone, self.kind)


def _units(subject: _Subject) -> list[_Unit]:
    slo = subject.slo
    specs = _unit_specs(
        slo.tiers,
        slo.error_budget,
        subject.plan.raw_ms,
        subject.plan.has_traffic,
        subject.plan.sampling == "counters",
        subject.settings.missing_sli_for.millis,
        slo.window.millis,
    )
    return [
        _Unit(kind, subject, None if tier is None else slo.tiers[tier], length, max_step)
        for kind, tier, length, max_step in specs
    ]


@lru_cache(maxsize=1 << 12)
def _unit_specs(
    tiers: tuple[Tier, ...],
    budget: Decimal,
    raw: int,
    has_traffic: bool,
    counts_events: bool,
    missing_ms: int,
    window_ms: int,
) -> tuple[tuple[str, int | None, int, int | None], ...]:
    """(kind, index of the tier, length, largest step) of each unit: the same for every SLO of a shape."""
    units: list[tuple[str, int | None, int, int | None]] = []
    for index, tier in enumerate(tiers):
        long, short, hold = tier.long_window.millis, tier.short_window.millis, tier.for_.millis
        threshold = _fraction(tier.threshold)
        limit = short // 2
        if threshold < 1:
            detect = int(long * threshold / _fire_ratio(tier))
            units.append(("fires", index, long + detect + 2 * raw + hold + short, limit))
        units.append(("silent", index, long + short + raw + hold, limit))
    outage = _fastest_page_tier(tiers, budget)
    if outage is not None:
        length = 2 * outage.long_window.millis + outage.for_.millis + raw + missing_ms  # then the metrics vanish
        index = next(index for index, tier in enumerate(tiers) if tier is outage)
        units.append(("outage", index, length, outage.short_window.millis // 2))
        if counts_events and outage.min_bad_events >= 1:
            length = _night_start(outage, raw) + 2 * outage.long_window.millis
            night = outage.min_bad_events >= 2 and _fraction(outage.threshold) * FIRE_FACTOR < 1
            kinds = ("night", "incident") if night else ("incident",)
            units += [(kind, index, length, outage.short_window.millis // 2) for kind in kinds]
    if has_traffic:
        units.append(("zero", None, missing_ms, None))
    units.append(("ratios", None, window_ms + RATIO_CHECK_LEAD_MS, None))
    return tuple(units)


def _fits(length_ms: int, max_step_ms: int | None, step: int, limit: int) -> bool:
    return length_ms // step + 4 <= limit and (max_step_ms is None or step <= max_step_ms)


def _step_for(unit: _Unit, fine: int) -> int | None:
    """The finest rung that keeps the group short; else the coarsest one promtool accepts."""
    return _step(unit.kind, unit.length_ms, unit.max_step_ms, fine)


@lru_cache(maxsize=1 << 12)
def _step(kind: str, length_ms: int, max_step_ms: int | None, fine: int) -> int | None:
    if kind == "zero":
        return fine  # the missing-SLI timing is what it checks
    rungs = [fine] + [rung for rung in STEP_LADDER_MS if rung > fine]
    if kind == "ratios":  # values at one instant: the fewer evaluations the better
        rungs.reverse()
    for rung in rungs:
        if _fits(length_ms, max_step_ms, rung, TARGET_STEPS):
            return rung
    allowed = [rung for rung in rungs if _fits(length_ms, max_step_ms, rung, QUERY_SAMPLE_LIMIT)]
    return allowed[-1] if allowed else None


def _subjects(service: Service, settings: Settings, warnings: list[SpecWarning]) -> list[_Subject]:
    subjects = []
    selectors: dict[int, dict] = {}  # what each SLO's rules read, looked up once per service

    def read_by(index: int) -> dict:
        if index not in selectors:
            selectors[index] = by_metric(sli_selectors(service.slos[index]))
        return selectors[index]

    for slo in service.slos:
        try:
            plan = plan_inputs(slo, settings.evaluation_interval.millis)
        except Unsupported as exc:
            warnings.append(SpecWarning(slo.source, slo.key, f"no rule tests generated: {exc}"))
            continue
        shared = [
            other.key
            for index, other in enumerate(service.slos)
            if other is not slo and other != slo and feeds_selectors(plan, read_by(index))
        ]
        subjects.append(_Subject(slo, service, settings, plan, tuple(shared)))
    return subjects


def _group(kind: str, units: list[_Unit], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    group = _unscoped_group(kind, units, step, warnings)
    subject = units[0].subject
    if group is not None and subject.also_feeds:
        _scope(group, subject)
    return group


def _unscoped_group(kind: str, units: list[_Unit], step: int, warnings: list[SpecWarning]) -> RuleTestGroup | None:
    if kind == "zero":
        return zero_traffic_group([unit.subject for unit in units], step)
    if kind == "ratios":
        return ratios_group([unit.subject for unit in units], step, warnings)
    items = [(unit.subject, unit.tier) for unit in units if unit.tier is not None]
    builder = {
        "fires": fires_group,
        "silent": silent_group,
        "outage": outage_group,
        "night": night_group,
        "incident": incident_group,
    }[kind]
    try:
        return builder(items, step, warnings)
    except _Skip as exc:
        for subject, tier in items:
            _warn(warnings, subject, tier, kind, exc)
        return None


def _scope(group: RuleTestGroup, subject: _Subject) -> None:
    """Checks of the subject's alerts only: the SLOs it feeds react to its inputs in ways no test predicts.

    promtool's alert tests compare every alert of an alertname, so each becomes
    a query on ALERTS selecting this SLO, with the alert's full label set (its
    annotations are checked in the groups of SLOs that share no series).
    """
    slo = subject.slo
    group.name += f" [own group: its series are also read by {', '.join(subject.also_feeds)}]"
    service_only = f'{L.SERVICE}="{slo.service}"}}'
    for test in group.promql_expr_test:  # e.g. silent's count over every alert of the service
        test["expr"] = test["expr"].replace(service_only, f'{L.SERVICE}="{slo.service}",{L.SLO}="{slo.name}"}}')
    for test in group.alert_rule_test:
        series = _alerts_series(test["alertname"], slo, "firing")
        samples = [
            {"labels": _alert_labels(test["alertname"], alert["exp_labels"]), "value": 1}
            for alert in test["exp_alerts"]
            if alert["exp_labels"].get(L.SLO) == slo.name and alert["exp_labels"].get(L.SERVICE) == slo.service
        ]
        group.promql_expr_test.append({"expr": series, "eval_time": test["eval_time"], "exp_samples": samples})
    group.alert_rule_test = []


def _alert_labels(alertname: str, labels: dict[str, str]) -> str:
    """The ALERTS series of a firing alert, in promtool's series notation."""
    pairs = {**labels, L.ALERTNAME: alertname, "alertstate": "firing"}
    return "ALERTS{" + ",".join(f'{key}="{escape_label_value(value)}"' for key, value in sorted(pairs.items())) + "}"


@lru_cache(maxsize=4096)  # render and rule_test_warnings both ask: one computation for a fleet
def service_tests(service: Service, settings: Settings) -> ServiceTests:
    """The test files of one service and the warnings for what could not be tested."""
    warnings: list[SpecWarning] = []
    fine = settings.evaluation_interval.millis
    by_step: dict[int, dict[tuple[int, str, int, str], list[_Unit]]] = {fine: {}}
    for subject in _subjects(service, settings, warnings):
        for unit in _units(subject):
            step = _step_for(unit, fine)
            if step is None:
                _warn(
                    warnings,
                    subject,
                    unit.tier,
                    unit.kind,
                    _Skip("no evaluation step fits its windows and promtool's limits"),
                )
                continue
            by_step.setdefault(step, {}).setdefault(unit.key, []).append(unit)
    files = []
    for step, keyed in sorted(by_step.items()):
        groups = []
        if step == fine:
            try:
                groups.append(no_data_group(service, settings, fine))
            except _Skip as exc:
                warnings.append(SpecWarning(service.source, service.name, f"no rule test for missing data: {exc}"))
        for key in sorted(keyed):
            group = _group(key[-1], keyed[key], step, warnings)
            if group is not None:
                groups.append(group)
        if groups:
            suffix = None if step == fine else format_duration(step)
            files.append((tests_path(service.name, suffix), _file(service, step, groups, suffix)))
    return ServiceTests(tuple(files), tuple(sorted(warnings)))


def _file(service: Service, step: int, groups: list[RuleTestGroup], suffix: str | None) -> str:
    path = tests_path(service.name, suffix)
    header = (
        f"Generated by sloforge from {service.source}. Do not edit: change the spec and run `make render`.\n"
        f"Unit tests for {rules_path(service.name)}, evaluated every {format_duration(step)}: promtool test rules {path}\n"
        "Input series are synthetic; every expected time and value comes from sloforge's burn-rate model\n"
        "(generator/model/burn.py), which replays the rules evaluation by evaluation like Prometheus does."
    )
    document = {
        "rule_files": [f"../rules/{service.name}.yaml"],
        "evaluation_interval": format_duration(step),
        "tests": [group.as_dict() for group in groups],
    }
    return dump_yaml(document, header)
