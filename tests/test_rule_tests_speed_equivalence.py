"""The rule tests' fast paths compute exactly what the plain definitions do.

Rendering rule tests for a fleet remembers label-free results per SLO shape,
writes counter values with integer arithmetic, evaluates tier conditions in
one pass and assembles simple annotation templates from remembered actions.
Each shortcut is checked here against the straightforward computation it
replaces, and a memoized render against renders that start from scratch.
"""

from __future__ import annotations

import random
from decimal import Context, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from fixture_paths import TEAMS

from generator.model import burn
from generator.model.synthetic import (
    InputPlan,
    Phase,
    SeriesSpec,
    Synthesis,
    by_metric,
    counter_rate_selector,
    feeds_selectors,
    selector_matches,
)
from generator.model.synthetic.query_shapes import parse_query, selector_tuple
from generator.model.synthetic.values_text import MAX_VALUES_TEXT, number_text, sample_runs, thousandths
from generator.pipeline import load_model
from generator.spec.promql import vector_selectors
from generator.targets import labels as L
from generator.targets.alert_text import TemplateUnsupported, expand
from generator.targets.rule_tests import alert_values, burn_alert, render_rule_tests, rule_tests, service_tests
from generator.targets.rule_tests.basics import Boundary
from generator.targets.rule_tests.expected_text import expand_template, expands_alike, template_parts
from generator.targets.rules import alert_rule

_DECIMALS = Context(prec=80)


def _reference_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    text = format(_DECIMALS.divide(Decimal(value.numerator), Decimal(value.denominator)), "f")
    return text.rstrip("0").rstrip(".")


def test_decimal_text_matches_decimal_division():
    rng = random.Random(1)
    for _ in range(20_000):
        numerator = rng.choice([rng.randint(-(10**6), 10**6), rng.randint(0, 10**20), rng.randint(0, 10**75)])
        denominator = rng.choice(
            [2 ** rng.randint(0, 30), 5 ** rng.randint(0, 12), 1000, 3, 7 * 2**5, rng.randint(1, 10**6)]
        )
        value = Fraction(numerator, denominator)
        assert number_text(value) == _reference_number(value), value
        whole = rng.choice([rng.randint(-(10**7), 10**7), rng.randint(0, 10**18), rng.randint(-(10**60), 10**60)])
        assert thousandths(whole) == _reference_number(Fraction(whole, 1000)), whole


TEMPLATES = [
    "{{ $value | humanize }}",
    "slo-1. Burning at {{ $value | humanize }}x the sustainable rate; {{ $value|humanizePercentage }} now",
    "{{ humanize $value }} and {{ $labels.slo_name }}",
    "{{ $labels.slo_window | humanize }}",  # not a number: fails
    "{{- $value }}  after",
    "before  {{ $value -}}  after",
    '{{ "}}" }} {{ $value }}',
    "x {{ $value",
    "{{{ $value }}",
    "{{ $value }}}}",
    "{{ $value\n | humanizeDuration }}",
    "{{ $value | printf }}",
    "{{ if $value }}x{{ end }}",
    "no action at all",
]


def _values(rng: random.Random) -> list[float]:
    return [rng.choice([0.0, 1.0, 14.4, 999.95, 1e-5]) * rng.uniform(0.5, 2) for _ in range(5)] + [14.4, 1000.0]


def test_template_shortcuts_expand_as_expand_does():
    labels = {"slo_service": "svc", "slo_name": "slo-1", "slo_window": "5m"}
    pairs = tuple(labels.items())
    rng = random.Random(2)
    for text in TEMPLATES:
        for value in _values(rng):
            try:
                expected: str | Exception = expand(text, value, labels)
            except TemplateUnsupported as exc:
                expected = exc
            try:
                got: str | Exception = expand_template(text, value, labels, pairs)
            except TemplateUnsupported as exc:
                got = exc
            assert str(got) == str(expected) and type(got) is type(expected), (text, value)
    assert template_parts("a {{ $value | humanize }} b") == ("a ", "{{ $value | humanize }}", " b")
    assert template_parts("{{- $value }}") is None


def test_boundary_shortcut_decides_as_whole_templates_do():
    labels = {"slo_service": "svc", "slo_name": "slo-1", "slo_window": "5m"}
    simple = [text for text in TEMPLATES if template_parts(text) is not None and "slo_window" not in text]
    outcomes = set()
    for templates in (simple, TEMPLATES[:3]):
        rule = {"alert": "A", "labels": {"x": "y"}, "annotations": {f"a{i}": text for i, text in enumerate(templates)}}
        rng = random.Random(3)
        for _ in range(300):
            first = rng.choice([14.4, 0.999949999, 1.0, 999.95, 2.5e-3]) * rng.uniform(0.999, 1.001)
            expanded = {text: expand(text, first, labels) for text in templates}
            for value in [first, *(first * rng.uniform(0.999, 1.001) for _ in range(4))]:
                alike = all(expand(text, value, labels) == expanded[text] for text in templates)
                assert expands_alike(rule, value, first, labels, expanded) == alike
                outcomes.add(alike)
    assert outcomes == {True, False}


def _plain_conditions(evaluation: burn.Evaluation, budget: Fraction, factor: Fraction, short: int, long: int):
    threshold = factor * budget
    result, near = [], set()
    for index in range(evaluation.steps):
        both = True
        for window in (short, long):
            sums = evaluation.window_sums(window)[index]
            if sums is None:
                both = False
                continue
            errors, limit = sums[0] * threshold.denominator, sums[1] * threshold.numerator
            if abs(errors - limit) * burn.NEAR_TIE <= limit:
                near.add(index)
            both = both and errors > limit
        result.append(both)
    return result, near


class _Window:
    def __init__(self, millis: int):
        self.millis = millis


class _Tier:
    def __init__(self, factor: str, short: int, long: int):
        self.factor, self.short_window, self.long_window = Decimal(factor), _Window(short), _Window(long)
        self.min_bad_events = 0


class _SLO:
    def __init__(self, budget: str):
        self.error_budget = Decimal(budget)
        self.min_total_events = 0


def _random_steps(rng: random.Random, integers: bool) -> burn.Steps:
    starts = [0] + sorted(rng.sample(range(1, 200_000), rng.randint(0, 4)))
    if integers:
        return burn.Steps(tuple(starts), tuple(rng.randint(0, 10**6) for _ in starts))
    return burn.Steps(tuple(starts), tuple(Fraction(rng.randint(0, 64), rng.choice([64, 3])) for _ in starts))


def _plain_samples(share: burn.Steps, raw: int, interval: int, step: int, steps: int, scale: int) -> list:
    result = []
    for t in range(0, step * steps, step):
        last, first = t // interval, max(0, -(-(t - raw) // interval))
        result.append((share.sample_sum(first, last, interval), (last - first + 1) * scale))
    return result


def test_one_pass_kernels_match_the_step_by_step_model():
    rng = random.Random(4)
    for _ in range(300):
        interval = rng.choice([1000, 15_000, 60_000, 7000])
        raw, step, steps = interval * rng.randint(1, 8), rng.choice([interval, 60_000, 300_000]), rng.randint(1, 200)
        share = _random_steps(rng, integers=rng.random() < 0.7)
        recorded = [(r.errors, r.total) for r in burn.record_samples(share, raw, interval, step, steps, 16)]
        assert recorded == _plain_samples(share, raw, interval, step, steps, 16)
        bad = _random_steps(rng, integers=True)
        total = burn.Steps(bad.starts, tuple(value + rng.randint(0, 99) for value in bad.values))
        counters = burn.record_counters(bad, total, raw, interval, step, steps)
        for t, record in zip(range(0, step * steps, step), counters, strict=True):
            start = max(0, t - raw)
            expected = None if t < interval else (bad.area(t) - bad.area(start), total.area(t) - total.area(start))
            assert (None if record is None else (record.errors, record.total)) == expected
        for records in (counters, burn.record_counter_ratio(bad, total, raw, interval, step, steps)):
            evaluation = burn.Evaluation(records, step, raw)
            budget, factor = rng.choice(["0.001", "0.05", "0.5"]), rng.choice(["14.4", "1", "3"])
            long = step * rng.randint(2, 30)
            conditions, near = _plain_conditions(evaluation, Fraction(budget), Fraction(factor), raw, long)
            assert evaluation.tier_conditions(_SLO(budget), _Tier(factor, raw, long)) == conditions  # type: ignore[arg-type]
            assert evaluation.near_ties == near
            quiet = burn.Evaluation(records, step, raw)
            assert quiet.tier_conditions(_SLO(budget), _Tier(factor, raw, long), near_ties=False) == conditions  # type: ignore[arg-type]
            assert quiet.near_ties == set()


def _plain_values(synthesis: Synthesis, series: SeriesSpec, phases: tuple[Phase, ...], runs) -> str:
    """`Synthesis._values` as first written: every value a Fraction."""
    steps = synthesis.signals(phases)[series.role]
    interval = synthesis.plan.interval_ms
    counter = series.role in ("bad", "good", "total")
    segments, next_sample = [], 0
    for first_sample, last_sample in runs:
        if first_sample > next_sample:
            segments.append(f"_x{first_sample - next_sample}")
        for index, phase in enumerate(phases):
            phase_first = -(-phase.start_ms // interval)
            phase_last = phases[index + 1].start_ms // interval - 1 if index + 1 < len(phases) else last_sample
            lo, hi = max(first_sample, phase_first), min(last_sample, phase_last)
            if hi < lo:
                continue
            value = steps.integral(lo * interval) if counter else Fraction(steps.values[index])
            slope = steps.values[index] * Fraction(interval, 1000) if counter else Fraction(0)
            text = _reference_number(value)
            if hi > lo:
                text += f"{'-' if slope < 0 else '+'}{_reference_number(abs(slope))}x{hi - lo}"
            segments.append(text)
        next_sample = last_sample + 1
    return " ".join(segments)


def _plain_input_series(synthesis: Synthesis, phases: tuple[Phase, ...], end: int, step: int | None) -> list[dict]:
    plan = synthesis.plan
    runs = sample_runs(end // plan.interval_ms, plan.interval_ms, plan.raw_ms, step)
    while True:
        result = [{"series": s.text(), "values": _plain_values(synthesis, s, phases, runs)} for s in plan.series]
        if len(runs) == 1 or max(len(item["values"]) for item in result) <= MAX_VALUES_TEXT:
            return result
        runs = [(runs[i][0], runs[min(i + 1, len(runs) - 1)][1]) for i in range(0, len(runs), 2)]


ROLES = {
    "counters": [("bad", "total"), ("good", "total"), ("bad", "good")],
    "counter_ratio": [("bad", "total")],
    "samples": [("gauge_good",)],
    "average": [("gauge_bad",)],
}


def test_input_values_are_shared_by_shape_and_match_the_fraction_arithmetic():
    rng = random.Random(5)
    for _ in range(150):
        sampling = rng.choice(list(ROLES))
        roles = rng.choice(ROLES[sampling])
        interval = rng.choice([1000, 15_000, 60_000])
        bits = rng.randint(4, 20)
        starts = [0] + sorted(rng.sample(range(1000, 30 * 86_400_000, 1000), rng.randint(0, 3)))
        phases = tuple(
            Phase(start, Fraction(rng.randint(0, 2**bits), 2**bits), rng.choice([0, 1, 3])) for start in starts
        )
        step = rng.choice([None, 60_000, 3_600_000, 86_400_000])
        end = rng.randint(1, 31 * 86_400_000 // (step or 3_600_000)) * (step or 3_600_000)
        texts = []
        for job in ("a", "b"):  # two SLOs of one shape: same values, their own series
            series = tuple(SeriesSpec(f"m{i}", (("job", job),), role) for i, role in enumerate(roles))
            synthesis = Synthesis(InputPlan(sampling, series, interval * 5, interval), bits)  # type: ignore[arg-type]
            inputs = synthesis.input_series(phases, end, step)
            assert inputs == _plain_input_series(synthesis, phases, end, step)
            texts.append(inputs)
        assert [item["values"] for item in texts[0]] == [item["values"] for item in texts[1]]
        assert texts[0][0]["series"] != texts[1][0]["series"]


QUERIES = [
    'sum(rate(http_requests_total{job="a",code=~"5.."}[5m]))',
    "rate(x_total[1m])",
    'sum(increase(y_total{job!="b",env!~"dev.*"}[30s]))',
    '(sum((rate({__name__="z_total",job="c"}[5m]))))',
]


def test_selectors_read_from_the_parsed_query_match_vector_selectors():
    for query in QUERIES:
        function, selector = counter_rate_selector(query, "q")
        assert function in ("rate", "increase")
        assert [selector] == vector_selectors(query)
    node = parse_query('avg(avg_over_time(g{job="d",le=~"1(\\\\.0)?"}[5m]))', "q")
    assert [selector_tuple(node.expr.args[0].vector_selector)] == vector_selectors(
        'avg(avg_over_time(g{job="d",le=~"1(\\\\.0)?"}[5m]))'
    )


def test_feeds_looks_only_at_the_selectors_that_can_match():
    selectors = vector_selectors(
        'sum(rate(m{job="a"}[5m])) or sum(rate(n{code=~"5.."}[5m])) or sum(rate({job=~"a|b",code="500"}[5m]))'
    )
    for metric, labels in [
        ("m", {"job": "a"}),
        ("m", {"job": "b"}),
        ("n", {"code": "503"}),
        ("n", {"code": "200"}),
        ("o", {"job": "b", "code": "500"}),
        ("o", {"job": "c", "code": "500"}),
    ]:
        plan = InputPlan("counters", (SeriesSpec(metric, tuple(sorted(labels.items())), "bad"),), 300_000, 60_000)
        expected = any(selector_matches(metric, labels, selector) for selector in selectors)
        assert feeds_selectors(plan, by_metric(selectors)) == expected, (metric, labels)


FLEET = """apiVersion: sloforge/v1
kind: Service
service: {service}
team: payments
slos:
  - name: api
    objective: {objective}
    sli:
      events:
        errors: sum(rate(http_requests_total{{job="{service}",code=~"5.."}}[{{{{.window}}}}]))
        total: sum(rate(http_requests_total{{job="{service}"}}[{{{{.window}}}}]))
  - name: slow
    objective: 99
    window: 7d
    sli:
      latency:
        histogram: http_request_duration_seconds
        selector: '{{job="{service}"}}'
        threshold: 300ms
  - name: probe
    objective: {objective}
    window: 28d
    sli:
      bool_gauge:
        metric: probe_success{{target="{service}"}}
  - name: batch
    objective: 99.5
    sli:
      raw:
        error_ratio: sum(rate(failed_total{{job="{service}"}}[{{{{.window}}}}])) / sum(rate(done_total{{job="{service}"}}[{{{{.window}}}}]))
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    (tmp_path / "teams.yaml").write_text(TEAMS.read_text())
    for index, objective in enumerate(["99.9", "99.5", "99.9", "99.95"]):
        service = f"svc-{index}"
        (tmp_path / f"{service}.yaml").write_text(FLEET.format(service=service, objective=objective))
    return tmp_path


def test_a_render_with_remembered_shapes_equals_renders_from_scratch(fleet: Path):
    model = load_model(fleet)
    together = dict(rule_tests(model).files)  # one render: SLOs of one shape share a memo across services
    for service in model.services:  # each service alone, with a memo of its own
        alone = service_tests(service, model.settings)
        assert dict(alone.files) == {path: text for path, text in together.items() if path in dict(alone.files)}
    assert len(together) == sum(len(service_tests(s, model.settings).files) for s in model.services)
    assert render_rule_tests(model).files == together


def _plain_burn_alert(slo, tier, settings, ratio: Fraction) -> dict:
    """`burn_alert` as first written: every template expanded whole, for every value."""
    sample = {L.SERVICE: slo.service, L.SLO: slo.name, L.WINDOW: tier.short_window.text}
    rule = alert_rule(slo, tier, settings)

    def expected(value: float) -> dict:
        labels = dict(sample)
        labels.update({key: expand(text, value, sample) for key, text in rule["labels"].items()})
        annotations = {key: expand(text, value, sample) for key, text in rule["annotations"].items()}
        return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(annotations.items()))}

    first, *others = alert_values(slo, ratio)
    result = expected(first)
    if any(expected(value) != result for value in others):
        raise Boundary("boundary")
    return result


def test_burn_alerts_and_their_rounding_boundaries_match_whole_expansion(example_model):
    rng = random.Random(6)
    outcomes = set()
    for slo in example_model.slos:
        for tier in slo.tiers:
            budget = Fraction(str(slo.error_budget))
            for _ in range(40):  # burn rates near where `humanize` rounds to the next digit
                burn_rate = Fraction(rng.choice([99995, 999950, 149995, 1000]), 10_000) + Fraction(
                    rng.randint(-3, 3), 2**40
                )
                ratio = min(burn_rate * budget, Fraction(1))
                try:
                    plain: dict | str = _plain_burn_alert(slo, tier, example_model.settings, ratio)
                except Boundary:
                    plain = "boundary"
                try:
                    fast: dict | str = burn_alert(slo, tier, example_model.settings, ratio)
                except Boundary:
                    fast = "boundary"
                assert fast == plain, (slo.key, tier.name, ratio)
                outcomes.add(plain == "boundary")
    assert outcomes == {True, False}
