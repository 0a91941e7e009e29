"""promtool tests that prove a grouped SLO is one SLO per group (docs/grouping.md).

The per-SLO rule tests (`rule_tests`) feed one unlabelled group. These feed
several groups of the same SLO at once, with expectations from the burn-rate
model (`generator.model.burn`) computed per group, never copied from promtool:

- one group burns: only that group's alert fires, with its group labels,
  while a clean group at the same traffic and one at 8x stay silent (a pooled
  ratio would hide the burning group's errors: dropping a `by (...)` anywhere
  in the recording chain fails this test);
- recorded ratios: every window's error ratio and the budget left, per
  group, traffic weighted within the group, equal the model's;
- appear and vanish: a group whose series start mid-test is evaluated from
  its first sample as if the test began there (it fires on a full outage
  like a fresh SLO); a burning group whose series vanish resolves after the
  shortest window's hold, and `SLOSLIMissing` stays silent (one group going
  away is not the SLO's SLI going missing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from generator.model.burn import AlertSpan, Evaluation
from generator.model.slo import SLO, Model, Service, Settings, Tier
from generator.model.synthetic import (
    InputPlan,
    Phase,
    Synthesis,
    Unsupported,
    escape_label_value,
    plan_inputs,
    selector_matches,
    sli_selectors,
    synthesize,
)
from generator.model.warnings import SpecWarning
from generator.model.windows import HOLD_MS, windows_of
from generator.targets import labels as L
from generator.targets.rendered import Rendered
from generator.targets.rule_tests import TESTS_DIR, fastest_page_tier
from generator.targets.rules import alert_rule, rules_path
from generator.targets.yaml_text import dump_yaml
from generator.units.durations import format_duration

GROUP_TRAFFIC = (1, 1, 8)  # group 0 burns; 1 is clean at its traffic; 2 is clean at 8x (it would dilute a pooled ratio)
FIRE_FACTOR = Fraction(5, 4)  # a bit above the tier's threshold
TOLERANCE = Fraction(1, 100)  # synthesized ratios within 1% of the wanted ones
VALUE_TOLERANCE = 1e-9  # relative: recorded floats may round
STEP_LADDER_MS = (300_000, 3_600_000, 21_600_000, 86_400_000)
MAX_STEPS = 600  # evaluations of one timing test
RATIO_STEPS = 250  # evaluations of the ratio test (one instant matters: the coarser the better)
RATIO_LEAD_MS = 2 * 86_400_000  # the ratio check runs this long past one SLO window


class _Skip(Exception):
    """A grouped test cannot be generated; the message becomes a render warning."""


def grouped_tests_path(service: str, step: str | None = None) -> str:
    return f"{TESTS_DIR}/{service}.groups{'.' + step if step else ''}.test.yaml"


def render_grouped_tests(model: Model) -> Rendered:
    """The grouped tests, and the grouped SLOs (or parts of their tests) that could not be generated, and why."""
    parts = [_service_files(service, model.settings) for service in model.services]
    return Rendered(
        {path: text for files, _ in parts for path, text in files},
        tuple(warning for _, warnings in parts for warning in warnings),
    )


@dataclass(frozen=True)
class _Subject:
    slo: SLO
    settings: Settings
    plan: InputPlan
    groups: tuple[dict[str, str], ...]  # the grouping labels of each synthetic group

    def plan_of(self, index: int) -> InputPlan:
        """The SLO's input series with group `index`'s labels added."""
        extra = self.groups[index]
        series = tuple(
            replace(spec, labels=tuple(sorted({**spec.label_dict(), **extra}.items()))) for spec in self.plan.series
        )
        return InputPlan(self.plan.sampling, series, self.plan.raw_ms, self.plan.interval_ms)

    def selector(self, extra: dict[str, str] | None = None) -> str:
        """The SLO's identity matchers, then `extra` (a grouping label may be called `service`)."""
        pairs = {L.SERVICE: self.slo.service, L.SLO: self.slo.name, **(extra or {})}
        return "{" + ",".join(f'{key}="{escape_label_value(value)}"' for key, value in pairs.items()) + "}"


def _service_files(service: Service, settings: Settings) -> tuple[list[tuple[str, str]], list[SpecWarning]]:
    files: dict[int, list[dict]] = {}
    warnings: list[SpecWarning] = []
    for slo in service.slos:
        if not slo.grouping:
            continue
        try:
            subject = _subject(slo, settings)
        except (Unsupported, _Skip) as exc:
            warnings.append(SpecWarning(slo.source, slo.key, f"no grouped rule tests: {exc}"))
            continue
        for kind, build in (("one group burns", _one_group_burns), ("ratios", _ratios), ("appear", _appear_vanish)):
            try:
                step, group = build(subject)
            except (Unsupported, _Skip, ValueError) as exc:
                warnings.append(SpecWarning(slo.source, slo.key, f"no grouped rule test ({kind}): {exc}"))
                continue
            files.setdefault(step, []).append(group)
    fine = settings.evaluation_interval.millis
    out = []
    for step, groups in sorted(files.items()):
        suffix = None if step == fine else format_duration(step)
        out.append((grouped_tests_path(service.name, suffix), _file(service, step, groups, suffix)))
    return out, sorted(warnings)


def _subject(slo: SLO, settings: Settings) -> _Subject:
    plan = plan_inputs(slo, settings.evaluation_interval.millis)
    return _Subject(slo, settings, plan, _group_values(slo, plan, 3))


def _group_values(slo: SLO, plan: InputPlan, count: int) -> tuple[dict[str, str], ...]:
    """`count` label sets for the grouping labels that every SLI selector reads as it reads the plain series."""
    selectors = sli_selectors(slo)
    found: list[dict[str, str]] = []
    for index in range(16):
        labels = _candidate(slo.grouping, index)
        if all(
            selector_matches(spec.metric, spec.label_dict(), selector)
            == selector_matches(spec.metric, {**spec.label_dict(), **labels}, selector)
            for spec in plan.series
            for selector in selectors
        ):
            found.append(labels)
        if len(found) == count:
            return tuple(found)
    raise _Skip(f"no values of {', '.join(slo.grouping)} keep the SLI's selectors matching the synthetic series")


def _candidate(grouping: tuple[str, ...], index: int) -> dict[str, str]:
    """The `index`-th label set: with several labels, groups share values label by label.

    (g0, g0), (g1, g0), (g0, g1), ...: no single label tells the groups apart, so a
    rule that matched or summed on one grouping label only would pool two groups.
    """
    *first, last = grouping
    labels = {label: f"g{(index >> bit) & 1}" for bit, label in enumerate(first)}
    return labels | {last: f"g{index >> len(first)}"}


def fastest_page(slo: SLO) -> Tier:
    tier = fastest_page_tier(slo)
    if tier is None:
        raise _Skip("no tier can fire")
    return tier


def _ceil(value: int, step: int) -> int:
    return -(-value // step) * step


def _timing_step(subject: _Subject, tier: Tier, length: int) -> int:
    """The rules' interval, or the finest coarser rung that keeps the test short (a few evaluations per short window)."""
    fine = subject.settings.evaluation_interval.millis
    for step in (fine, *[rung for rung in STEP_LADDER_MS if rung > fine]):
        if (
            length // step <= MAX_STEPS
            and step <= tier.short_window.millis // 2
            and step % subject.plan.interval_ms == 0
        ):
            return step
    raise _Skip(f"no evaluation step fits {tier.name}'s windows")


# --- expectations ---------------------------------------------------------------------------


def _alerts(subject: _Subject, alertname: str, extra: dict[str, str] | None = None) -> str:
    """ALERTS of this SLO (firing unless `alertstate` is given otherwise)."""
    pairs = {L.ALERTNAME: alertname, "alertstate": "firing", L.SERVICE: subject.slo.service, L.SLO: subject.slo.name}
    pairs.update(extra or {})
    return "ALERTS{" + ",".join(f'{key}="{value}"' for key, value in pairs.items()) + "}"


def _other_groups(subject: _Subject, index: int) -> list[str]:
    """ALERTS of this SLO, any alertname or state, of any other group, one selector per grouping label: another
    group differs from group `index` in at least one label (SLO-wide alerts carry no group label)."""
    selectors = []
    for label in subject.slo.grouping:
        value = escape_label_value(subject.groups[index][label])
        identity = f'{L.SERVICE}="{subject.slo.service}",{L.SLO}="{subject.slo.name}"'
        selectors.append(f'ALERTS{{{identity},{label}=~".+",{label}!="{value}"}}')
    return selectors


def _firing_labels(subject: _Subject, tier: Tier, index: int) -> str:
    """The ALERTS series of `tier`'s alert for group `index`: rule labels, identity, short window, group labels."""
    rule = alert_rule(subject.slo, tier, subject.settings)
    labels = {
        L.SERVICE: subject.slo.service,
        L.SLO: subject.slo.name,
        L.WINDOW: tier.short_window.text,
        **subject.groups[index],
        **rule["labels"],
        L.ALERTNAME: tier.alert_name,
        "alertstate": "firing",
    }
    return "ALERTS{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items())) + "}"


def _close_to(expr: str, value: float) -> str:
    tolerance = max(abs(value) * VALUE_TOLERANCE, 1e-15)
    return f"abs({expr} - ({value!r})) <= bool {tolerance:.1e}"


def _series_labels(subject: _Subject, index: int, window: str) -> str:
    labels = {L.SERVICE: subject.slo.service, L.SLO: subject.slo.name, L.WINDOW: window, **subject.groups[index]}
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items())) + "}"


class _Group:
    def __init__(self, name: str, interval_ms: int):
        self.data: dict = {"name": name, "interval": format_duration(interval_ms), "input_series": []}
        self.tests: list[dict] = []

    def inputs(self, series: list[dict[str, str]]) -> None:
        self.data["input_series"] += series

    def expect(self, at_ms: int, expr: str, samples: list[dict]) -> None:
        self.tests.append({"expr": expr, "eval_time": format_duration(at_ms), "exp_samples": samples})

    def as_dict(self) -> dict:
        return {**self.data, "promql_expr_test": self.tests}


def _rise(
    subject: _Subject, tier: Tier, plan: InputPlan, step: int, ratio: Fraction, start: int
) -> tuple[Synthesis, tuple[Phase, ...], Evaluation, AlertSpan]:
    """Clean traffic until `start`, then `ratio` errors: the synthesis, phases and first firing span of `tier`."""
    synthesis = synthesize(plan, [ratio], TOLERANCE)
    wanted = synthesis.quantize(ratio)
    phases = (Phase(0, Fraction(0)), Phase(start, wanted)) if start else (Phase(0, wanted),)
    horizon = _ceil(start + 3 * tier.long_window.millis + plan.raw_ms + tier.for_.millis + 4 * step, step)
    evaluation = synthesis.evaluation(phases, step, horizon)
    spans = [span for span in evaluation.tier_spans(subject.slo, tier, near_ties=False) if span.firing_ms is not None]
    if not spans:
        raise _Skip(f"the model predicts {tier.name} never fires at {float(wanted):.4g} errors")
    return synthesis, phases, evaluation, spans[0]


def _fire_ratio(tier: Tier) -> Fraction:
    return min(Fraction(str(tier.threshold)) * FIRE_FACTOR, Fraction(1))


# --- the tests -----------------------------------------------------------------------------


def _one_group_burns(subject: _Subject) -> tuple[int, dict]:
    """Group 0 burns a bit above the fastest page tier's threshold; groups 1 and 2 (8x traffic) are clean."""
    tier = fastest_page(subject.slo)
    length = 3 * tier.long_window.millis + subject.plan.raw_ms + tier.for_.millis
    step = _timing_step(subject, tier, length)
    start = _ceil(tier.long_window.millis, step)
    burning = subject.plan_of(0)
    synthesis, phases, evaluation, span = _rise(subject, tier, burning, step, _fire_ratio(tier), start)
    fired = span.firing_ms or 0
    check = fired + step
    group = _Group(
        f"{subject.slo.key} grouped by {', '.join(subject.slo.grouping)}: errors on one group fire {tier.name} for "
        f"that group alone, with its labels; a clean group at the same traffic and one at 8x stay silent",
        subject.plan.interval_ms,
    )
    group.inputs(synthesis.input_series(phases, check, step))
    for index in (1, 2):
        clean = (Phase(0, Fraction(0), traffic=GROUP_TRAFFIC[index]),)
        group.inputs(Synthesis(subject.plan_of(index), synthesis.bits).input_series(clean, check, step))
    if fired - 2 * step > 0:
        quiet = fired - 2 * step
        group.expect(quiet, f"count_over_time({_alerts(subject, tier.alert_name)}[{format_duration(quiet)}])", [])
    group.expect(check, _alerts(subject, tier.alert_name), [{"labels": _firing_labels(subject, tier, 0), "value": 1}])
    for others in _other_groups(subject, 0):
        group.expect(check, f"count_over_time({others}[{format_duration(check)}])", [])
    long = tier.long_window
    burnt = evaluation.ratio(check // step, long.millis)
    if burnt is not None:  # each group's own long-window ratio: the errors of group 0 only in group 0
        _expect_ratios(group, subject, check, long.text, [float(burnt), 0.0, 0.0])
    return step, group.as_dict()


def _expect_ratios(group: _Group, subject: _Subject, at: int, window: str, values: list[float | None]) -> None:
    for index, value in enumerate(values):
        series = f"{L.error_ratio_series(window)}{_group_selector(subject, index)}"
        if value is None:
            group.expect(at, series, [])
        else:
            labels = _series_labels(subject, index, window)
            group.expect(at, _close_to(series, value), [{"labels": labels, "value": 1}])


def _group_selector(subject: _Subject, index: int) -> str:
    return subject.selector(subject.groups[index])


def _ratios(subject: _Subject) -> tuple[int, dict]:
    """Three groups with different phases and traffic: each window's ratio and the budget left, per group."""
    slo, plan = subject.slo, subject.plan
    window = slo.window.millis
    length = window + RATIO_LEAD_MS
    step = next(
        (
            rung
            for rung in reversed(STEP_LADDER_MS)
            if length // rung + 4 <= RATIO_STEPS and rung % plan.interval_ms == 0
        ),
        None,
    )
    if step is None:
        raise _Skip("no evaluation step fits the SLO window")
    end = _ceil(length, step)
    budget = Fraction(str(slo.error_budget))
    weighted = plan.sampling == "counters"
    wanted = [Fraction(1, 2), min(budget / 2, Fraction(1)), min(budget * 3, Fraction(1)), min(budget * 2, Fraction(1))]
    synthesis = synthesize(plan, wanted, TOLERANCE)
    junk, first, second, third = (synthesis.quantize(ratio) for ratio in wanted)
    scenarios = (
        # older than the SLO window (must not count), then three phases, the second at 3x traffic
        (
            Phase(0, junk),
            Phase(end - window, first),
            Phase(end - window // 2, second, traffic=3 if weighted else 1),
            Phase(end - 90 * 60_000, third),
        ),
        (Phase(0, second), Phase(end - window // 3, first, traffic=2 if weighted else 1)),
        (Phase(0, Fraction(0), traffic=GROUP_TRAFFIC[2]),),
    )
    windows = windows_of(slo)
    group = _Group(
        f"{slo.key} grouped by {', '.join(slo.grouping)}: every window's error ratio, the budget left and its "
        "policy stage, per group and traffic weighted within it; data older than the SLO window is left out",
        plan.interval_ms,
    )
    per_window: dict[str, list[float | None]] = {w.text: [] for w in windows}
    for index, phases in enumerate(scenarios):
        own = Synthesis(subject.plan_of(index), synthesis.bits)
        group.inputs(own.input_series(phases, end, step))
        evaluation = own.evaluation(phases, step, end)
        for w in windows:
            ratio = evaluation.ratio(end // step, w.millis)
            per_window[w.text].append(None if ratio is None else float(ratio))
        ratio = evaluation.ratio(end // step, window)
        remaining = f"{L.BUDGET_REMAINING}{_group_selector(subject, index)}"
        if ratio is None:
            group.expect(end, remaining, [])
        else:
            labels = _series_labels(subject, index, slo.window.text)
            left = float(1 - ratio / budget)
            group.expect(end, _close_to(remaining, left), [{"labels": labels, "value": 1}])
            stage = _stage_index(slo, left)
            if stage is not None:  # the group's own budget-policy stage
                series = f"{L.BUDGET_STAGE_INDEX}{_group_selector(subject, index)}"
                group.expect(end, series, [{"labels": L.BUDGET_STAGE_INDEX + labels, "value": stage}])
    for text, values in per_window.items():
        _expect_ratios(group, subject, end, text, values)
    return step, group.as_dict()


def _stage_index(slo: SLO, remaining: float) -> int | None:
    """The budget-policy stage the rules record for `remaining`; None too close to a boundary to be sure."""
    for index, stage in enumerate(slo.budget_stages):
        if stage.min_remaining is None:
            return index
        bound = float(stage.min_remaining)
        if abs(remaining - bound) < 1e-9:
            return None
        if remaining > bound:
            return index
    return None


def _appear_vanish(subject: _Subject) -> tuple[int, dict]:
    """Group 1 burns and fires, then its series vanish; group 2 appears then with every event failing; 0 is clean."""
    if subject.plan.sampling != "counters":
        raise _Skip("only counter SLIs have a group appear and vanish in the generated tests")
    tier = fastest_page(subject.slo)
    raw = subject.plan.raw_ms
    length = 3 * tier.long_window.millis + 2 * (raw + HOLD_MS + tier.for_.millis)
    step = _timing_step(subject, tier, length)
    start = _ceil(tier.long_window.millis, step)
    synthesis, phases, _, span = _rise(subject, tier, subject.plan_of(1), step, _fire_ratio(tier), start)
    vanish = (span.firing_ms or 0) + 2 * step
    resolved_by = _ceil(vanish + raw + HOLD_MS + tier.for_.millis, step) + 2 * step
    fresh, fresh_phases, _, fresh_span = _rise(subject, tier, subject.plan_of(2), step, Fraction(1), 0)
    appear = vanish
    new_fired = appear + (fresh_span.firing_ms or 0)
    end = max(resolved_by, new_fired + step)
    interval = subject.plan.interval_ms
    group = _Group(
        f"{subject.slo.key} grouped by {', '.join(subject.slo.grouping)}: a burning group's series vanish at "
        f"{format_duration(vanish)}: its {tier.name} resolves within the shortest window and its hold, and "
        f"SLOSLIMissing stays silent (one group going away is not a missing SLI); a group appearing then with "
        f"every event failing fires within {format_duration(new_fired + step - appear)} of its first sample",
        interval,
    )
    clean = (Phase(0, Fraction(0)),)
    group.inputs(Synthesis(subject.plan_of(0), synthesis.bits).input_series(clean, end, step))
    group.inputs(synthesis.input_series(phases, vanish, step))
    late = fresh.input_series(fresh_phases, end - appear, step)
    group.inputs([{**series, "values": f"_x{appear // interval} {series['values']}"} for series in late])
    firing = _alerts(subject, tier.alert_name)
    group.expect(vanish, firing, [{"labels": _firing_labels(subject, tier, 1), "value": 1}])
    if new_fired - 2 * step >= appear:
        quiet = new_fired - 2 * step
        group.expect(
            quiet,
            f"count_over_time({_alerts(subject, tier.alert_name, subject.groups[2])}[{format_duration(quiet - appear + step)}])",
            [],
        )
    group.expect(
        new_fired + step,
        _alerts(subject, tier.alert_name, subject.groups[2]),
        [{"labels": _firing_labels(subject, tier, 2), "value": 1}],
    )
    group.expect(resolved_by, f"{_alerts(subject, tier.alert_name, subject.groups[1])}", [])
    missing = _alerts(subject, L.MISSING_SLI_ALERT)
    group.expect(end, f"count_over_time({missing}[{format_duration(end)}])", [])
    group.expect(
        end, f"count_over_time({_alerts(subject, tier.alert_name, subject.groups[0])}[{format_duration(end)}])", []
    )
    return step, group.as_dict()


def _file(service: Service, step: int, groups: list[dict], suffix: str | None) -> str:
    path = grouped_tests_path(service.name, suffix)
    header = (
        f"Generated by sloforge from {service.source}. Do not edit: change the spec and run `make render`.\n"
        f"Grouped-SLO tests for {rules_path(service.name)}, evaluated every {format_duration(step)}: "
        f"promtool test rules {path}\n"
        "Several groups of one SLO at once; every expected time and value comes from sloforge's burn-rate model\n"
        "(generator/model/burn.py), per group (docs/grouping.md)."
    )
    document = {
        "rule_files": [f"../rules/{service.name}.yaml"],
        "evaluation_interval": format_duration(step),
        "tests": groups,
    }
    return dump_yaml(document, header)
