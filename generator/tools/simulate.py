"""What-if simulation: an error scenario for one SLO, run through its real rules by promtool.

The scenario (phases of error ratio and traffic) becomes synthetic input
series with the rule tests' machinery (`model.synthetic`); the burn-rate
model (`model.burn`) predicts when each tier goes pending, fires and
resolves; promtool then checks every predicted transition against the SLO's
rendered rules. The printed timeline is the prediction promtool confirmed.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from generator.model.burn import Evaluation
from generator.model.slo import SLO, Settings
from generator.model.synthetic import Phase, Synthesis, Unsupported, plan_inputs, synthesize
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.yaml_source import Document, read_documents
from generator.targets import labels as L
from generator.targets.rules import slo_rule_group, windows_of
from generator.targets.yaml_text import dump_yaml
from generator.tools.runner import ToolResult, promtool
from generator.units.durations import DurationError, format_duration, parse_duration
from generator.units.numbers import format_number

SIM_MAX_STEPS = 3000  # evaluations; beyond that the simulation evaluates less often
SIM_STEPS_MS = tuple(minutes * 60_000 for minutes in (1, 2, 5, 10, 15, 30, 60))
RATIO_TOLERANCE = Fraction(1, 10_000)  # synthesized ratios within 0.01% of the asked ones
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$")


class ScenarioError(ValueError):
    """A scenario the simulator cannot run (the message says why)."""


@dataclass(frozen=True)
class ScenarioPhase:
    duration_ms: int
    error_ratio: Fraction
    traffic: int = 1
    label: str = ""


@dataclass(frozen=True)
class Scenario:
    phases: tuple[ScenarioPhase, ...]
    recover: bool  # add clean traffic at the end until every alert has resolved


def parse_ratio(text: str | float | int) -> Fraction:
    """`2%`, `0.02` or `0` -> Fraction; raises ScenarioError outside 0..1."""
    match = _RATIO.match(str(text))
    if not match:
        raise ScenarioError(f"{text!r} is not an error ratio; write a percentage such as 2% or a fraction such as 0.02")
    value = Fraction(Decimal(match.group(1)))
    if match.group(2):
        value /= 100
    if value > 1:
        raise ScenarioError(f"{text!r} is more than 100% errors")
    return value


def scenario_from_options(error_ratio: str, duration: str, after: str | None, slo: SLO) -> Scenario:
    """Clean traffic for `after` (default: the longest alert window), errors for `duration`, then recovery."""
    ratio = parse_ratio(error_ratio)
    try:
        incident = parse_duration(duration)
        clean = parse_duration(after) if after else _longest_window(slo)
    except DurationError as exc:
        raise ScenarioError(str(exc)) from exc
    return Scenario(
        (
            ScenarioPhase(clean.millis, Fraction(0), label="clean traffic"),
            ScenarioPhase(incident.millis, ratio, label=f"{_percent(ratio)} errors"),
        ),
        recover=True,
    )


def _longest_window(slo: SLO):
    windows = [tier.long_window for tier in slo.tiers] or [windows_of(slo)[0]]
    return max(windows)


def load_scenario(path: Path, display: str) -> Scenario:
    """A YAML scenario: `phases: [{for: 1h, error_ratio: 0}, {for: 3h, error_ratio: 2%, traffic: 2}]`.

    Errors carry file:line:col, all of them at once (SpecErrors).
    """
    documents, errors = read_documents(path, display)
    if errors:
        raise SpecErrors(errors)
    document = documents[0]
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("phases"), list) or not data["phases"]:
        raise SpecErrors([document.error(("phases",), "expected `phases:`, a list of {for, error_ratio[, traffic]}")])
    problems: list[SpecError] = []
    unknown = sorted(set(data) - {"phases", "recover"})
    problems += [
        document.error((key,), f"unknown field {key!r}; expected phases, recover", at_key=True) for key in unknown
    ]
    phases = [_phase(document, index, item, problems) for index, item in enumerate(data["phases"])]
    recover = data.get("recover", False)
    if not isinstance(recover, bool):
        problems.append(document.error(("recover",), "recover: expected true or false"))
    if problems:
        raise SpecErrors(problems)
    return Scenario(tuple(phase for phase in phases if phase is not None), recover=bool(recover))


def _phase(document: Document, index: int, item: object, problems: list[SpecError]) -> ScenarioPhase | None:
    where = ("phases", index)
    if not isinstance(item, dict):
        problems.append(document.error(where, "a phase is a mapping: {for: 1h, error_ratio: 2%}"))
        return None
    found = len(problems)
    for key in sorted(set(item) - {"for", "error_ratio", "traffic", "name"}):
        problems.append(
            document.error(
                where + (key,), f"unknown field {key!r}; expected for, error_ratio, traffic, name", at_key=True
            )
        )
    for key in ("for", "error_ratio"):
        if key not in item:
            problems.append(document.error(where, f"phases[{index}]: required field {key!r} is missing"))
    duration, ratio, traffic = 0, Fraction(0), item.get("traffic", 1)
    if "for" in item:
        try:
            duration = parse_duration(str(item["for"])).millis
        except DurationError as exc:
            problems.append(document.error(where + ("for",), f"for: {exc}"))
    if "error_ratio" in item:
        try:
            ratio = parse_ratio(item["error_ratio"])
        except ScenarioError as exc:
            problems.append(document.error(where + ("error_ratio",), f"error_ratio: {exc}"))
    if isinstance(traffic, bool) or not isinstance(traffic, int) or traffic < 0:
        problems.append(
            document.error(where + ("traffic",), "traffic: expected a whole multiple of normal traffic (0, 1, 2, ...)")
        )
    if len(problems) > found:
        return None
    label = str(item.get("name") or (f"{_percent(ratio)} errors" if ratio else "clean traffic"))
    return ScenarioPhase(duration, ratio, int(traffic), label)


def _percent(ratio: Fraction) -> str:
    return format_number(Decimal(ratio.numerator) / Decimal(ratio.denominator) * 100) + "%"


# --- planning (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    at_ms: int
    alert: str
    tier: str
    state: str  # pending | firing | resolved
    burn: float | None  # short-window burn rate at that evaluation
    uncertain: bool  # a near tie: promtool may see it one evaluation later or earlier


@dataclass(frozen=True)
class Plan:
    slo: SLO
    step_ms: int
    phases: tuple[Phase, ...]  # quantized, with start times
    labels: tuple[str, ...]  # one per phase
    end_ms: int
    incident_ms: int  # start of the first phase with errors (0 if none)
    events: tuple[Event, ...]
    still_firing: tuple[str, ...]  # alerts active at the end
    budget_spent: Fraction  # share of the SLO window's error budget
    rules_text: str
    test_text: str
    assertions: int
    notes: tuple[str, ...]


def plan_simulation(slo: SLO, settings: Settings, scenario: Scenario) -> Plan:
    """Inputs, expected timeline and the promtool test that checks it; raises ScenarioError."""
    notes: list[str] = []
    total_ms = sum(phase.duration_ms for phase in scenario.phases)
    if total_ms <= 0:
        raise ScenarioError("the scenario has no duration")
    tail = max([tier.short_window.millis for tier in slo.tiers] or [0]) + windows_of(slo)[0].millis
    step = _step(settings.evaluation_interval.millis, total_ms + (tail if scenario.recover else 0))
    if step != settings.evaluation_interval.millis:
        notes.append(
            f"evaluated every {format_duration(step)} instead of {settings.evaluation_interval} to keep "
            f"the run under {SIM_MAX_STEPS} evaluations; times are accurate to one evaluation"
        )
    try:
        plan = plan_inputs(slo, step)
    except Unsupported as exc:
        raise ScenarioError(f"cannot synthesize inputs for {slo.key}: {exc}") from exc
    if any(phase.traffic != 1 for phase in scenario.phases) and not plan.has_traffic:
        raise ScenarioError(f"{slo.key} is a {slo.sli.kind} SLI: its traffic cannot change (omit `traffic`)")
    synthesis = synthesize(plan, [phase.error_ratio for phase in scenario.phases], RATIO_TOLERANCE)
    phases, labels, start = [], [], 0
    for phase in scenario.phases:
        if phase.duration_ms % plan.interval_ms:
            raise ScenarioError(f"phase lengths must be whole multiples of {format_duration(plan.interval_ms)}")
        quantized = synthesis.quantize(phase.error_ratio)
        if quantized != phase.error_ratio:
            notes.append(f"{_percent(phase.error_ratio)} errors is synthesized as {float(quantized) * 100:.6g}%")
        phases.append(Phase(start, quantized, phase.traffic))
        labels.append(phase.label)
        start += phase.duration_ms
    end = _ceil(start, step)
    if scenario.recover:
        phases.append(Phase(start, Fraction(0)))
        labels.append("recovery")
    phases_t = tuple(phases)
    evaluation, end = _run_until_quiet(synthesis, slo, phases_t, step, end, tail if scenario.recover else 0)
    events, still = _events(evaluation, slo, step)
    incident = next((phase.start_ms for phase in phases_t if phase.error_ratio > 0), 0)
    budget = synthesis.bad_events(phases_t, end) / (
        Fraction(str(slo.error_budget)) * synthesis.events_per_second() * Fraction(slo.window.millis, 1000)
    )
    test_text, assertions = _test_file(slo, synthesis, phases_t, step, end, events)
    rules_text = dump_yaml({"groups": [slo_rule_group(slo, settings)]}, f"sloforge simulate: rules of {slo.key}")
    return Plan(
        slo,
        step,
        phases_t,
        tuple(labels),
        end,
        incident,
        events,
        still,
        budget,
        rules_text,
        test_text,
        assertions,
        tuple(notes),
    )


def _ceil(value: int, step: int) -> int:
    return -(-value // step) * step


def _step(fine: int, length: int) -> int:
    for step in (fine, *[s for s in SIM_STEPS_MS if s > fine]):
        if length // step <= SIM_MAX_STEPS:
            return step
    return SIM_STEPS_MS[-1]


def _run_until_quiet(synthesis: Synthesis, slo: SLO, phases: tuple[Phase, ...], step: int, end: int, tail: int):
    """Evaluate to the end of the scenario; when recovering, go on until no tier is active."""
    end = _ceil(end + tail, step) if tail else end
    for _ in range(8):
        evaluation = synthesis.evaluation(phases, step, end)
        active = any(spans and spans[-1].resolved_ms is None for spans in _all_spans(evaluation, slo))
        if not tail or not active:
            return evaluation, end
        end += _ceil(tail, step)
    return evaluation, end


def _all_spans(evaluation: Evaluation, slo: SLO):
    return [evaluation.tier_spans(slo, tier) for tier in slo.tiers]


def _events(evaluation: Evaluation, slo: SLO, step: int) -> tuple[tuple[Event, ...], tuple[str, ...]]:
    events: list[Event] = []
    still: list[str] = []
    for tier, spans in zip(slo.tiers, _all_spans(evaluation, slo), strict=True):
        for span in spans:
            moments = [("pending", span.pending_ms), ("firing", span.firing_ms), ("resolved", span.resolved_ms)]
            for state, at in moments:
                if at is None:
                    continue
                index = at // step
                burn = evaluation.burn(index, tier.short_window.millis, slo)
                uncertain = bool({index - 1, index} & evaluation.near_ties)
                events.append(
                    Event(at, tier.alert_name, tier.name, state, None if burn is None else float(burn), uncertain)
                )
            if span.resolved_ms is None:
                still.append(tier.alert_name)
    order = {"pending": 0, "firing": 1, "resolved": 2}
    events.sort(key=lambda event: (event.at_ms, event.tier, order[event.state]))
    return tuple(events), tuple(still)


def _test_file(
    slo: SLO, synthesis: Synthesis, phases: tuple[Phase, ...], step: int, end: int, events: tuple[Event, ...]
) -> tuple[str, int]:
    """promtool assertions for every predicted transition: the state at it and one evaluation before.

    A transition at a near tie (float rounding could move it by one
    evaluation) is shown as approximate and not asserted.
    """
    checks: list[dict] = []

    def count(alert: str, state: str | None, at: int, present: bool) -> None:
        state_matcher = f',alertstate="{state}"' if state else ""
        expr = f'count(ALERTS{{alertname="{alert}"{state_matcher},{L.SERVICE}="{slo.service}",{L.SLO}="{slo.name}"}})'
        samples = [{"labels": "{}", "value": 1}] if present else []
        checks.append({"expr": expr, "eval_time": format_duration(at), "exp_samples": samples})

    for event in events:
        if event.uncertain:
            continue
        after, before = event.at_ms, event.at_ms - step
        if event.state == "pending":
            count(event.alert, None, after, True)
            if before >= 0:
                count(event.alert, None, before, False)
        elif event.state == "firing":
            count(event.alert, "firing", after, True)
            if before >= 0:
                count(event.alert, "firing", before, False)
        else:
            count(event.alert, None, after, False)
            count(event.alert, None, before, True)
    for tier in slo.tiers:
        if not any(event.alert == tier.alert_name for event in events):
            count(tier.alert_name, None, end, False)  # never active: nothing at the end either
            checks.append(
                {
                    "expr": f'count_over_time(ALERTS{{alertname="{tier.alert_name}",{L.SERVICE}="{slo.service}",'
                    f'{L.SLO}="{slo.name}"}}[{format_duration(end)}])',
                    "eval_time": format_duration(end),
                    "exp_samples": [],
                }
            )
    group = {
        "name": f"sloforge simulate {slo.key}",
        "interval": format_duration(synthesis.plan.interval_ms),
        "input_series": synthesis.input_series(phases, end, step),
        "promql_expr_test": checks,
    }
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": format_duration(step), "tests": [group]}
    return dump_yaml(document, f"sloforge simulate: scenario for {slo.key}"), len(checks)


# --- running -------------------------------------------------------------------------------


def verify(plan: Plan) -> ToolResult:
    """Write the rules and the test into a temp dir and run `promtool test rules` on them."""
    with tempfile.TemporaryDirectory(prefix="sloforge-simulate-") as workdir:
        root = Path(workdir)
        (root / "rules.yaml").write_text(plan.rules_text, encoding="utf-8")
        (root / "scenario.test.yaml").write_text(plan.test_text, encoding="utf-8")
        return promtool(["test", "rules", str(root / "scenario.test.yaml")], f"promtool test rules ({plan.slo.key})")


def relative(at_ms: int, incident_ms: int) -> str:
    """`+1h5m` from the start of the errors (`-10m` before it)."""
    delta = at_ms - incident_ms
    return ("-" if delta < 0 else "+") + format_duration(abs(delta))


def burn_text(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.4g}x"
