"""Input plans: which synthetic series feed an SLO's own SLI queries, and how its rules sample them.

Counters for events and latency SLIs, a fractional gauge for bool gauges,
counters or a gauge for raw ratios; label values come from the queries'
matchers (`label_values`), so the tests exercise the real queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Literal

from generator.model.sli_queries import queries_for
from generator.model.slo import SLO, BoolGaugeSLI, EventsSLI, LatencySLI, RawSLI
from generator.model.synthetic.label_values import Matcher, matcher_holds, selector_matches, solve_labels
from generator.model.synthetic.query_shapes import (
    Unsupported,
    cached_vector_selectors,
    counter_rate_selector,
    gauge_selector,
    only_selector,
    parse_query,
)
from generator.model.windows import windows_of
from generator.spec.promql import substitute_window

Role = Literal["bad", "good", "total", "gauge_good", "gauge_bad"]
Sampling = Literal["counters", "counter_ratio", "samples", "average", "instant"]

INPUT_INTERVALS_MS = (60_000, 30_000, 20_000, 15_000, 10_000, 5_000, 1_000)
MIN_SAMPLES_PER_RATE_WINDOW = 4
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}


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
        numeric work is done once per shape (see `ShapeMemo`).
        """
        bare = tuple(SeriesSpec("", (), series.role) for series in self.series)
        return self if bare == self.series else InputPlan(self.sampling, bare, self.raw_ms, self.interval_ms)


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
        good = only_selector(queries.good or "", "latency bucket")
        count = only_selector(queries.total or "", "latency count")
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
        (metric, matchers), _ = gauge_selector(sli.metric, "bool_gauge metric")
        labels = _solve(matchers, "bool_gauge metric")
        return InputPlan(
            "samples", (SeriesSpec(metric, tuple(sorted(labels.items())), "gauge_good"),), raw.millis, interval
        )
    assert isinstance(sli, RawSLI)
    query = substitute_window(sli.error_ratio, w)
    node = parse_query(query, "error_ratio")
    if type(node).__name__ == "BinaryExpr" and str(node.op) == "/" and node.modifier is None:
        lhs = counter_rate_selector(node.lhs.prettify(), "error_ratio numerator")
        rhs = counter_rate_selector(node.rhs.prettify(), "error_ratio denominator")
        if lhs[0] != rhs[0]:
            raise Unsupported(f"error_ratio: numerator uses {lhs[0]}() but denominator {rhs[0]}()")
        return InputPlan("counter_ratio", _split("bad", lhs, rhs), raw.millis, interval)
    try:
        (metric, matchers), averaged = gauge_selector(query, "error_ratio")
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
    return [selector for query in (queries.errors, queries.total or "") for selector in cached_vector_selectors(query)]


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
