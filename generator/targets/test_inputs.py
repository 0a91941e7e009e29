"""Synthetic input series for an SLO's own SLI queries, and what the rules record from them.

The rule tests and the simulator feed promtool series that the SLO's queries
select: counters for events and latency SLIs, a fractional gauge for bool
gauges, counters or a gauge for raw ratios. Label values are derived from the
queries' matchers (regexes included), so the tests exercise the real queries.

Per-second rates are integers and error ratios multiples of a power of two,
so counters stay integers and the burn-rate model in `generator.model.burn`
predicts, in exact arithmetic, the evaluation at which promtool sees each
alert change state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction
from functools import cached_property, lru_cache
from itertools import islice
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Literal

import promql_parser

from generator.model import burn
from generator.model.slo import SLO, BoolGaugeSLI, EventsSLI, LatencySLI, RawSLI
from generator.spec.promql import substitute_window, vector_selectors
from generator.targets.rules import windows_of
from generator.targets.sli_queries import queries_for

Matcher = tuple[str, str, str]  # (label, op, value); op is = != =~ !~
Role = Literal["bad", "good", "total", "gauge_good", "gauge_bad"]
Sampling = Literal["counters", "counter_ratio", "samples", "average", "instant"]

INPUT_INTERVALS_MS = (60_000, 30_000, 20_000, 15_000, 10_000, 5_000, 1_000)
MIN_SAMPLES_PER_RATE_WINDOW = 4
MAX_RESOLUTION_BITS = 24
MAX_VALUES_TEXT = 900  # characters of one `values` line
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
_WORD_FALLBACKS = ("other", "sloforge", "x", "none")
_NUMBER_FALLBACKS = ("200", "0", "1", "999")


class Unsupported(ValueError):
    """The SLI's queries have a shape sloforge cannot synthesize inputs for; the message says why."""


# --- label values from matchers ---------------------------------------------------


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def matcher_holds(value: str, op: str, pattern: str) -> bool:
    """Prometheus matcher semantics; a missing label has the value ""."""
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    if op == "=~":
        return _fullmatch(pattern, value)
    return not _fullmatch(pattern, value)


def regex_examples(pattern: str, limit: int = 16) -> list[str]:
    """Strings that fully match `pattern`, built from its parse tree (simplest first)."""
    return list(_regex_examples(pattern, limit))


@lru_cache(maxsize=4096)
def _regex_examples(pattern: str, limit: int) -> tuple[str, ...]:
    try:
        parsed = sre_parser.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return ()
    digitish = any(char.isdigit() for char in pattern)
    found: list[str] = []
    for candidate in _expand(list(parsed), digitish, limit):
        if candidate not in found and _fullmatch(pattern, candidate):
            found.append(candidate)
    return tuple(found)


def _expand(items: list, digitish: bool, limit: int) -> list[str]:
    results = [""]
    for op, arg in items:
        options = _options(op, arg, digitish, limit)
        results = list(islice((head + tail for head in results for tail in options), limit))
        if not results:
            return []
    return results


def _options(op, arg, digitish: bool, limit: int) -> list[str]:
    c = sre_constants
    if op is c.LITERAL:
        return [chr(arg)]
    if op is c.NOT_LITERAL:
        return [char for char in ("0", "a", "x") if ord(char) != arg][:1]
    if op is c.ANY:
        return ["0" if digitish else "a"]
    if op is c.IN:
        return _set_members(arg)
    if op is c.BRANCH:
        return [option for branch in arg[1] for option in _expand(list(branch), digitish, limit)][:limit]
    if op is c.SUBPATTERN:
        return _expand(list(arg[-1]), digitish, limit)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = arg
        inner = _expand(list(sub), digitish, limit) or [""]
        counts = [low] + ([low + 1] if high == c.MAXREPEAT or high > low else [])
        return [inner[0] * count for count in counts] + [inner[-1] * max(low, 1)]
    if op is c.CATEGORY:
        return [_category_char(arg)]
    return [""]  # anchors, assertions: contribute nothing; fullmatch decides


def _category_char(category) -> str:
    c = sre_constants
    return {
        c.CATEGORY_DIGIT: "0",
        c.CATEGORY_NOT_DIGIT: "a",
        c.CATEGORY_SPACE: " ",
        c.CATEGORY_NOT_SPACE: "a",
        c.CATEGORY_WORD: "a",
        c.CATEGORY_NOT_WORD: "-",
    }.get(category, "a")


def _set_members(items: list) -> list[str]:
    c = sre_constants
    negated = any(op is c.NEGATE for op, _ in items)
    pool = "0a1bxZ_-.9"

    def member(char: str) -> bool:
        for op, arg in items:
            if op is c.LITERAL and ord(char) == arg:
                return True
            if op is c.RANGE and arg[0] <= ord(char) <= arg[1]:
                return True
            if op is c.CATEGORY and _category_char(arg) == char:
                return True
        return False

    if negated:
        return [char for char in pool if not member(char)][:2]
    chars = []
    for op, arg in items:
        if op is c.LITERAL:
            chars.append(chr(arg))
        elif op is c.RANGE:
            chars.append(chr(arg[0]))
        elif op is c.CATEGORY:
            chars.append(_category_char(arg))
    return chars[:3]


def solve_labels(matchers: list[Matcher]) -> dict[str, str] | None:
    """Label values satisfying every matcher, or None; labels whose value is "" are left out."""
    by_label: dict[str, list[Matcher]] = {}
    for matcher in matchers:
        by_label.setdefault(matcher[0], []).append(matcher)
    labels: dict[str, str] = {}
    for label, own in sorted(by_label.items()):
        candidates: list[str] = []
        positive = [m for m in own if m[1] in ("=", "=~")]
        for _, op, value in positive:
            candidates += [value] if op == "=" else _regex_examples(value, 16)
        examples = [value for _, op, value in own if op in ("=", "!=")] + [
            example for _, op, value in own if op in ("=~", "!~") for example in _regex_examples(value, 16)
        ]
        numeric = any(example.isdigit() for example in examples)
        candidates += list(_NUMBER_FALLBACKS + _WORD_FALLBACKS if numeric else _WORD_FALLBACKS + _NUMBER_FALLBACKS)
        candidates += [example[:-1] + ("1" if example[-1:] == "0" else "0") for example in examples if example]
        candidates.append("")  # the label left out
        chosen = next((value for value in candidates if all(matcher_holds(value, op, v) for _, op, v in own)), None)
        if chosen is None:
            return None
        if chosen:
            labels[label] = chosen
    return labels


def selector_matches(metric: str, labels: dict[str, str], selector: tuple[str, list[Matcher]]) -> bool:
    name, matchers = selector
    return (not name or name == metric) and all(
        matcher_holds(labels.get(label, ""), op, value) for label, op, value in matchers
    )


# --- query shapes -------------------------------------------------------------------


def _unwrap(node):
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


def _selector_of(node, what: str):
    if type(node).__name__ != "VectorSelector":
        raise Unsupported(f"{what}: expected a series selector")
    if node.offset is not None or node.at is not None:
        raise Unsupported(f"{what}: `offset` and `@` cannot be synthesized")
    if getattr(node.matchers, "or_matchers", None):
        raise Unsupported(f"{what}: `or` inside a selector cannot be synthesized")
    return node


def _only_selector(query: str, what: str) -> tuple[str, list[Matcher]]:
    return _named(_vector_selectors(query), what)


def _named(selectors: list[tuple[str, list[Matcher]]], what: str) -> tuple[str, list[Matcher]]:
    if len(selectors) != 1:
        raise Unsupported(f"{what}: expected exactly one series selector, found {len(selectors)}")
    if not selectors[0][0]:
        raise Unsupported(f"{what}: the selector needs a metric name")
    return selectors[0]


@lru_cache(maxsize=1 << 13)
def _vector_selectors(query: str) -> list[tuple[str, list[Matcher]]]:
    """`vector_selectors`, remembered (the SLO's rules and its plan read the same queries); read-only."""
    return vector_selectors(query)


_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _selector_tuple(node) -> tuple[str, list[Matcher]]:
    """What `vector_selectors` returns for one VectorSelector node, from a tree already parsed.

    For queries whose shape was checked to hold exactly this selector, it
    saves parsing the query again (parsing dominates planning).
    """
    matchers = [
        (m.name, _MATCH_OPS[str(m.op).rsplit(".", 1)[-1]], m.value)
        for m in node.matchers.matchers
        if m.name != "__name__"
    ]
    name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), "")
    return name, matchers


def _parse(query: str, what: str):
    try:
        return _unwrap(promql_parser.parse(query))
    except (ValueError, TypeError) as exc:
        raise Unsupported(f"{what}: does not parse: {exc}") from exc


def counter_rate_selector(query: str, what: str) -> tuple[str, tuple[str, list[Matcher]]]:
    """`[sum(] rate|increase(metric{...}[w]) [)]` -> (function, selector)."""
    node = _parse(query, what)
    if type(node).__name__ == "AggregateExpr" and str(node.op) == "sum":
        node = _unwrap(node.expr)
    if type(node).__name__ != "Call" or node.func.name not in ("rate", "increase"):
        raise Unsupported(f"{what}: expected sum(rate(<counter>[{{{{.window}}}}]))")
    matrix = _unwrap(node.args[0])
    if type(matrix).__name__ != "MatrixSelector":
        raise Unsupported(f"{what}: expected a range selector inside {node.func.name}()")
    # sum(rate(<selector>[w])): the selector is the query's only one
    return node.func.name, _named([_selector_tuple(_selector_of(matrix.vector_selector, what))], what)


def _gauge_selector(query: str, what: str) -> tuple[tuple[str, list[Matcher]], bool]:
    """`[agg(] [avg_over_time(] gauge{...} [[w])] [)]` -> (selector, averaged over the window)."""
    node = _parse(query, what)
    while type(node).__name__ == "AggregateExpr" and str(node.op) in ("sum", "avg", "min", "max"):
        node = _unwrap(node.expr)
    averaged = type(node).__name__ == "Call" and node.func.name == "avg_over_time"
    if averaged:
        matrix = _unwrap(node.args[0])
        if type(matrix).__name__ != "MatrixSelector":
            raise Unsupported(f"{what}: expected a range selector inside avg_over_time()")
        node = matrix.vector_selector
    # [agg(] [avg_over_time(] <selector> [[w])] [)]: the selector is the query's only one
    return _named([_selector_tuple(_selector_of(node, what))], what), averaged


# --- input plans -----------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesSpec:
    """One synthetic input series and what it carries."""

    metric: str
    labels: tuple[tuple[str, str], ...]
    role: Role

    def text(self) -> str:
        """The series in promtool's notation: metric{label="value",...}."""
        return self._text

    @cached_property
    def _text(self) -> str:
        pairs = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in self.labels)
        return f"{self.metric}{{{pairs}}}" if pairs else self.metric

    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class InputPlan:
    """How to feed one SLO: which series, how the rules read them, at which sample interval."""

    sampling: Sampling
    series: tuple[SeriesSpec, ...]
    raw_ms: int  # the shortest window: the rate/count window of the recording rules
    interval_ms: int  # input sample spacing

    @property
    def samples_per_window(self) -> int:
        return self.raw_ms // self.interval_ms

    @property
    def has_traffic(self) -> bool:
        """Whether the input can stand still (counters) rather than disappear (gauges)."""
        return self.sampling in ("counters", "counter_ratio")

    @cached_property
    def label_dicts(self) -> tuple[tuple[SeriesSpec, dict[str, str]], ...]:
        return tuple((series, series.label_dict()) for series in self.series)

    @cached_property
    def shape(self) -> InputPlan:
        """The plan without metric names and labels: everything its numbers depend on.

        SLOs of one shape share every input value and every evaluation, so the
        numeric work is done once per shape (see `Synthesis.input_series` and
        the rule tests' memos).
        """
        bare = tuple(SeriesSpec("", (), series.role) for series in self.series)
        return self if bare == self.series else InputPlan(self.sampling, bare, self.raw_ms, self.interval_ms)

    @cached_property
    def shape_id(self) -> int:
        """A small number per shape, for memo keys that hash fast."""
        return _SHAPE_IDS.setdefault(self.shape, len(_SHAPE_IDS))


_SHAPE_IDS: dict[InputPlan, int] = {}


def input_interval(raw_ms: int, step_ms: int) -> int:
    for interval in INPUT_INTERVALS_MS:
        if raw_ms % interval == 0 and step_ms % interval == 0 and raw_ms // interval >= MIN_SAMPLES_PER_RATE_WINDOW:
            return interval
    raise Unsupported(
        f"no input sample interval fits a {raw_ms / 1000:g}s shortest window and {step_ms / 1000:g}s evaluations"
    )


def plan_inputs(slo: SLO, step_ms: int) -> InputPlan:
    """The series to synthesize for `slo`; raises Unsupported with the reason."""
    raw = windows_of(slo)[0]
    interval = input_interval(raw.millis, step_ms)
    sli = slo.sli
    w = raw.text
    if isinstance(sli, EventsSLI):
        total = counter_rate_selector(substitute_window(sli.total, w), "total")
        if sli.errors is not None:
            part = counter_rate_selector(substitute_window(sli.errors, w), "errors")
            series = _split("bad", part, total)
        else:
            part = counter_rate_selector(substitute_window(sli.good or "", w), "good")
            series = _split("good", part, total)
        if part[0] != total[0]:
            raise Unsupported(f"errors/good use {part[0]}() but total uses {total[0]}()")
        return InputPlan("counters", series, raw.millis, interval)
    if isinstance(sli, LatencySLI):
        queries = queries_for(sli, raw)
        good = _only_selector(queries.good or "", "latency bucket")
        count = _only_selector(queries.total or "", "latency count")
        labels = _solve(count[1] + [m for m in good[1] if m[0] != "le"], "latency selector")
        bucket_labels = dict(labels)
        bucket_labels["le"] = _le_spelling(sli.threshold.millis)
        if not selector_matches(good[0], bucket_labels, good):
            raise Unsupported("latency: no `le` spelling matches the threshold bucket matcher")
        series = (
            SeriesSpec(good[0], tuple(sorted(bucket_labels.items())), "good"),
            SeriesSpec(count[0], tuple(sorted(labels.items())), "total"),
        )
        return InputPlan("counters", series, raw.millis, interval)
    if isinstance(sli, BoolGaugeSLI):
        (metric, matchers), _ = _gauge_selector(sli.metric, "bool_gauge metric")
        labels = _solve(matchers, "bool_gauge metric")
        return InputPlan(
            "samples", (SeriesSpec(metric, tuple(sorted(labels.items())), "gauge_good"),), raw.millis, interval
        )
    assert isinstance(sli, RawSLI)
    query = substitute_window(sli.error_ratio, w)
    node = _parse(query, "error_ratio")
    if type(node).__name__ == "BinaryExpr" and str(node.op) == "/" and node.modifier is None:
        lhs = counter_rate_selector(node.lhs.prettify(), "error_ratio numerator")
        rhs = counter_rate_selector(node.rhs.prettify(), "error_ratio denominator")
        if lhs[0] != rhs[0]:
            raise Unsupported(f"error_ratio: numerator uses {lhs[0]}() but denominator {rhs[0]}()")
        return InputPlan("counter_ratio", _split("bad", lhs, rhs), raw.millis, interval)
    try:
        (metric, matchers), averaged = _gauge_selector(query, "error_ratio")
    except Unsupported as exc:
        raise Unsupported(
            "error_ratio: expected sum(rate(<errors>[w])) / sum(rate(<total>[w])) or avg_over_time(<ratio gauge>[w])"
        ) from exc
    labels = _solve(matchers, "error_ratio")
    series = (SeriesSpec(metric, tuple(sorted(labels.items())), "gauge_bad"),)
    return InputPlan("average" if averaged else "instant", series, raw.millis, interval)


def _le_spelling(threshold_ms: int) -> str:
    value = Decimal(threshold_ms) / 1000
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _solve(matchers: list[Matcher], what: str) -> dict[str, str]:
    labels = solve_labels(matchers)
    if labels is None:
        raise Unsupported(f"{what}: no label values satisfy {_show(matchers)}")
    return labels


def _show(matchers: list[Matcher]) -> str:
    return "{" + ",".join(f'{label}{op}"{value}"' for label, op, value in matchers) + "}"


def _split(
    part_role: Literal["bad", "good"],
    part: tuple[str, tuple[str, list[Matcher]]],
    total: tuple[str, tuple[str, list[Matcher]]],
) -> tuple[SeriesSpec, ...]:
    """Series for a part (bad or good events) and a total, on one metric or on two."""
    (part_metric, part_matchers), (total_metric, total_matchers) = part[1], total[1]
    other: Role = "good" if part_role == "bad" else "bad"
    if part_metric != total_metric:
        part_labels = _solve(part_matchers, part_role)
        total_labels = _solve(total_matchers, "total")
        return (
            SeriesSpec(part_metric, tuple(sorted(part_labels.items())), part_role),
            SeriesSpec(total_metric, tuple(sorted(total_labels.items())), "total"),
        )
    inside = _solve(part_matchers + total_matchers, f"{part_role} and total together")
    outside = None
    for matcher in part_matchers:
        if matcher in total_matchers:
            continue
        label, op, value = matcher
        outside = solve_labels(total_matchers + [(label, _NEGATED[op], value)])
        if outside is not None:
            break
    if outside is None:
        raise Unsupported(f"no series matches total {_show(total_matchers)} without matching {_show(part_matchers)}")
    part_sel, total_sel = part[1], total[1]
    if not (selector_matches(part_metric, inside, part_sel) and selector_matches(part_metric, inside, total_sel)):
        raise Unsupported("could not build a series that both selectors match")
    if selector_matches(part_metric, outside, part_sel) or not selector_matches(part_metric, outside, total_sel):
        raise Unsupported("could not build a series that only the total selector matches")
    return (
        SeriesSpec(part_metric, tuple(sorted(inside.items())), part_role),
        SeriesSpec(part_metric, tuple(sorted(outside.items())), other),
    )


@lru_cache(maxsize=4096)
def sli_selectors(slo: SLO) -> list[tuple[str, list[Matcher]]]:
    """Every series selector the SLO's recording rules read (cached: checked against every other SLO)."""
    queries = queries_for(slo.sli, windows_of(slo)[0])
    return [selector for query in (queries.errors, queries.total or "") for selector in _vector_selectors(query)]


def feeds(plan: InputPlan, other: SLO) -> bool:
    """Whether any synthetic series of `plan` would also be read by `other`'s SLI."""
    return feeds_selectors(plan, by_metric(sli_selectors(other)))


def by_metric(selectors: list[tuple[str, list[Matcher]]]) -> dict[str, list[list[Matcher]]]:
    """Selectors' matchers by metric name ("": any metric), for `feeds_selectors`."""
    grouped: dict[str, list[list[Matcher]]] = {}
    for name, matchers in selectors:
        grouped.setdefault(name, []).append(matchers)
    return grouped


def feeds_selectors(plan: InputPlan, selectors: dict[str, list[list[Matcher]]]) -> bool:
    """Whether any synthetic series of `plan` would be read by one of `selectors` (`by_metric`).

    `selector_matches`, looking only at selectors of the series' metric or of none.
    """
    return any(
        all(matcher_holds(labels.get(label, ""), op, value) for label, op, value in matchers)
        for series, labels in plan.label_dicts
        for name in ((series.metric, "") if series.metric else ("",))
        for matchers in selectors.get(name, ())
    )


# --- scenarios -------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """From `start_ms` on: this error ratio at this multiple of the base traffic (0: traffic stops)."""

    start_ms: int
    error_ratio: Fraction
    traffic: int | Fraction = 1  # a Fraction for low-traffic scenarios (a handful of events per minute)

    @cached_property
    def key(self) -> tuple[int, int, int, int | Fraction]:
        """The phase as integers, for memo keys that hash fast (a Fraction's hash is slow)."""
        return self.start_ms, self.error_ratio.numerator, self.error_ratio.denominator, self.traffic


@dataclass(frozen=True)
class Synthesis:
    """An input plan with a resolution: error ratios are multiples of 1 / 2**bits."""

    plan: InputPlan
    bits: int

    @property
    def base_rate(self) -> int:
        """Events per second at traffic 1 (counters); a multiple of the samples per rate window."""
        return self.plan.samples_per_window * 2**self.bits

    def quantize(self, ratio: Fraction) -> Fraction:
        return quantize(ratio, self.bits)

    def signals(self, phases: tuple[Phase, ...]) -> dict[Role, burn.Steps]:
        """Per-second rates (counters) or sample values (gauges) of each role."""
        starts = tuple(phase.start_ms for phase in phases)
        total = tuple(self.base_rate * phase.traffic for phase in phases)
        bad = tuple(_exact(phase.error_ratio * rate) for phase, rate in zip(phases, total, strict=True))
        ratio = tuple(phase.error_ratio for phase in phases)
        return {
            "bad": burn.Steps(starts, bad),
            "good": burn.Steps(starts, tuple(t - b for t, b in zip(total, bad, strict=True))),
            "total": burn.Steps(starts, total),
            "gauge_good": burn.Steps(starts, tuple(1 - r for r in ratio)),
            "gauge_bad": burn.Steps(starts, ratio),
        }

    def records(self, phases: tuple[Phase, ...], step_ms: int, steps: int) -> burn.Records:
        """What the shortest-window recording rules store at each evaluation."""
        plan = self.plan
        if plan.sampling in ("samples", "average", "instant"):
            scale = 2**self.bits  # ratios are multiples of 1 / scale: integers after scaling
            scaled = burn.Steps(tuple(p.start_ms for p in phases), tuple(_exact(p.error_ratio * scale) for p in phases))
            if plan.sampling == "samples":
                return burn.record_samples(scaled, plan.raw_ms, plan.interval_ms, step_ms, steps, scale)
            if plan.sampling == "average":
                return burn.record_sample_means(scaled, plan.raw_ms, plan.interval_ms, step_ms, steps, scale)
            return burn.record_instant(scaled, plan.interval_ms, step_ms, steps, scale)
        starts = tuple(phase.start_ms for phase in phases)
        total = tuple(self.base_rate * phase.traffic for phase in phases)
        bad = tuple(_exact(phase.error_ratio * rate) for phase, rate in zip(phases, total, strict=True))
        record = burn.record_counters if plan.sampling == "counters" else burn.record_counter_ratio
        return record(burn.Steps(starts, bad), burn.Steps(starts, total), plan.raw_ms, plan.interval_ms, step_ms, steps)

    def evaluation(self, phases: tuple[Phase, ...], step_ms: int, end_ms: int) -> burn.Evaluation:
        records = self.records(phases, step_ms, end_ms // step_ms + 1)
        return burn.Evaluation(records, step_ms, self.plan.raw_ms, self.events_per_unit())

    def events_per_unit(self) -> Fraction | None:
        """Bad events per unit of the recorded errors: counters record thousandths, samples x 2**bits."""
        if self.plan.sampling == "counters":
            return Fraction(1, 1000)
        if self.plan.sampling == "samples":
            return Fraction(1, 2**self.bits)
        return None  # raw ratios: no event count

    def input_series(self, phases: tuple[Phase, ...], end_ms: int, step_ms: int | None = None) -> list[dict[str, str]]:
        """promtool `input_series` in expanding notation, one segment per phase.

        Given the evaluation step, only the samples the rules read are written
        (the shortest window before each evaluation); `_xN` skips the rest, so
        weeks of input at a coarse step stay small for promtool to load. Runs
        are merged until each line stays short (YAML folds lines over 1000
        characters).
        """
        key = (self.plan.shape_id, self.bits, phases_key(phases), end_ms, step_ms)
        values = _INPUT_VALUES.get(key)
        if values is None:
            values = Synthesis(self.plan.shape, self.bits)._input_values(phases, end_ms, step_ms)
            if len(_INPUT_VALUES) >= MEMO_LIMIT:
                _INPUT_VALUES.clear()
            _INPUT_VALUES[key] = values
        return [
            {"series": series.text(), "values": text} for series, text in zip(self.plan.series, values, strict=True)
        ]

    def _input_values(self, phases: tuple[Phase, ...], end_ms: int, step_ms: int | None) -> tuple[str, ...]:
        runs = _sample_runs(end_ms // self.plan.interval_ms, self.plan.interval_ms, self.plan.raw_ms, step_ms)
        signals = self.signals(phases)
        while True:
            values: list[str] = []
            for series in self.plan.series:
                values.append(self._values(signals[series.role], series.role, phases, runs))
                if len(runs) > 1 and len(values[-1]) > MAX_VALUES_TEXT:
                    break  # too long already: merge runs (the other series' lines would not be used)
            else:
                return tuple(values)
            runs = [(runs[i][0], runs[min(i + 1, len(runs) - 1)][1]) for i in range(0, len(runs), 2)]

    def _values(self, steps: burn.Steps, role: Role, phases: tuple[Phase, ...], runs: list[tuple[int, int]]) -> str:
        interval = self.plan.interval_ms
        counter = role in ("bad", "good", "total")
        # Integer rates (the usual case): counter values are thousandths, written without Fractions.
        whole = counter and all(type(value) is int for value in steps.values)
        last = len(phases) - 1
        firsts = [-(-phase.start_ms // interval) for phase in phases]  # each phase's first and last sample
        lasts = [phases[index + 1].start_ms // interval - 1 for index in range(last)]
        gauges: dict[int, str] = {}  # a gauge's value text, per phase
        slopes: dict[int, str] = {}  # a counter's increase per sample, per phase
        segments, next_sample, current = [], 0, 0
        for first_sample, last_sample in runs:
            if first_sample > next_sample:
                segments.append(f"_x{first_sample - next_sample}")
            while current < last and lasts[current] < first_sample:
                current += 1  # phases over before this run (both bounds only grow)
            for index in range(current, last + 1):
                if firsts[index] > last_sample:
                    break  # this and later phases start after the run
                lo = max(first_sample, firsts[index])
                hi = min(last_sample, lasts[index]) if index < last else last_sample
                if hi < lo:
                    continue
                if whole:
                    value = _thousandths(steps.area(lo * interval))
                    if hi == lo:
                        segments.append(value)
                        continue
                    if index not in slopes:
                        slope = steps.values[index] * interval
                        slopes[index] = f"{'-' if slope < 0 else '+'}{_thousandths(abs(slope))}x"
                    segments.append(f"{value}{slopes[index]}{hi - lo}")
                elif counter:
                    first = steps.integral(lo * interval)
                    segments.append(_segment(first, steps.values[index] * Fraction(interval, 1000), hi - lo))
                else:
                    if index not in gauges:
                        gauges[index] = _number(Fraction(steps.values[index]))
                    segments.append(gauges[index] if hi == lo else f"{gauges[index]}+0x{hi - lo}")
            next_sample = last_sample + 1
        return " ".join(segments)

    def bad_events(self, phases: tuple[Phase, ...], end_ms: int) -> Fraction:
        """Bad events (counters), bad samples (bool gauges) or ratio x seconds (raw) until `end_ms`."""
        signal = self.signals(phases)
        if self.plan.sampling == "samples":
            return Fraction(signal["gauge_bad"].sample_sum(1, end_ms // self.plan.interval_ms, self.plan.interval_ms))
        if self.plan.sampling in ("average", "instant"):
            return signal["gauge_bad"].integral(end_ms)
        return signal["bad"].integral(end_ms)

    def events_per_second(self) -> Fraction:
        """Events per second at traffic 1, in the unit of `bad_events`."""
        if self.plan.sampling == "samples":
            return Fraction(1000, self.plan.interval_ms)
        if self.plan.sampling in ("average", "instant"):
            return Fraction(1)
        return Fraction(self.base_rate)


# The `values` lines of a shape's series, by (shape id, bits, phases, end, step): shared by every SLO of the shape.
_INPUT_VALUES: dict[tuple, tuple[str, ...]] = {}
MEMO_LIMIT = 1 << 16  # entries a memo keeps before it starts over


def phases_key(phases: tuple[Phase, ...]) -> tuple[tuple[int, int, int, int], ...]:
    """The phases as integers, for memo keys that hash fast (a Fraction's hash is slow)."""
    return tuple(phase.key for phase in phases)


def synthesize(plan: InputPlan, ratios: list[Fraction], tolerance: Fraction) -> Synthesis:
    """The coarsest resolution that keeps every non-zero ratio within `tolerance` (relative)."""
    return Synthesis(plan, resolution(tuple(ratios), tolerance))


@lru_cache(maxsize=1 << 14)
def resolution(ratios: tuple[Fraction, ...], tolerance: Fraction) -> int:
    """The bits of `synthesize`: they depend on the ratios alone."""
    wanted = [ratio for ratio in ratios if ratio > 0]
    for bits in range(4, MAX_RESOLUTION_BITS + 1):
        if all(abs(quantize(ratio, bits) - ratio) <= tolerance * ratio for ratio in wanted):
            return bits
    return MAX_RESOLUTION_BITS


@lru_cache(maxsize=1 << 14)
def quantize(ratio: Fraction, bits: int) -> Fraction:
    """The nearest multiple of 1 / 2**bits (ties to even), at most 1, never 0 for a positive ratio."""
    quantum = Fraction(1, 2**bits)
    steps = min(round(ratio / quantum), 2**bits)
    if ratio > 0:
        steps = max(steps, 1)
    return steps * quantum


def _sample_runs(last: int, interval_ms: int, raw_ms: int, step_ms: int | None) -> list[tuple[int, int]]:
    """Runs of sample indices (inclusive) that rate windows ending at each evaluation read."""
    if step_ms is None or step_ms <= raw_ms + interval_ms:
        return [(0, last)]
    runs: list[tuple[int, int]] = []
    for t in range(0, last * interval_ms + 1, step_ms):
        first, final = max(0, (t - raw_ms) // interval_ms), t // interval_ms
        if runs and first <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], final)
        else:
            runs.append((first, final))
    if runs[-1][1] < last:
        runs.append((last, last))
    return runs


def _exact(value: Fraction) -> int | Fraction:
    """Integers as int: the model's sums stay fast."""
    return value.numerator if value.denominator == 1 else value


def _segment(first: Fraction, step: Fraction, count: int) -> str:
    if count == 0:
        return _number(first)
    sign = "-" if step < 0 else "+"
    return f"{_number(first)}{sign}{_number(abs(step))}x{count}"


_DECIMALS = Context(prec=80)


def _number(value: Fraction) -> str:
    """Exact decimal text of a dyadic fraction or an integer."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    twos = (denominator & -denominator).bit_length() - 1
    fives, rest = 0, denominator >> twos
    while rest % 5 == 0:
        fives, rest = fives + 1, rest // 5
    if rest == 1:  # a terminating decimal: its digits, exactly (no trailing zeros: the fraction is reduced)
        places = max(twos, fives)
        digits = str(abs(value.numerator) * (10**places // denominator)).rjust(places + 1, "0")
        if len(digits) <= 60:  # well within the context's precision, where the division is exact too
            return f"{'-' if value.numerator < 0 else ''}{digits[:-places]}.{digits[-places:]}"
    text = format(_DECIMALS.divide(Decimal(value.numerator), Decimal(value.denominator)), "f")
    return text.rstrip("0").rstrip(".")


def _thousandths(value: int) -> str:
    """`_number(Fraction(value, 1000))`, without the Fraction."""
    if abs(value) >= 10**50:
        return _number(Fraction(value, 1000))
    whole, rest = divmod(abs(value), 1000)
    text = f"{whole}.{rest:03d}".rstrip("0") if rest else str(whole)
    return "-" + text if value < 0 else text
