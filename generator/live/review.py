"""The weekly error-budget review: per SLO the budget over its window, stage time, and the alerts that fired.

Read from the recorded series and `ALERTS` only (range queries), like `budget`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.live.budget import BudgetRow, collect
from generator.live.prometheus_api import Connection, finite, query_range
from generator.targets import labels as L
from generator.units.durations import parse_duration

REPORT_MARKER = "<!-- sloforge error-budget report -->"  # first line of every report: such a file may be overwritten
MAX_POINTS = 1000  # per series and chart: fine enough for a burn-down, far below Prometheus's 11,000


@dataclass(frozen=True)
class AlertSpan:
    alertname: str
    severity: str
    start: float  # unix seconds, first firing sample seen
    end: float  # last firing sample seen
    still_firing: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class SLOReview:
    row: BudgetRow
    budget_points: tuple[tuple[float, float], ...]  # (unix seconds, budget remaining) over the SLO window
    window_range: tuple[float, float]  # (start, end) unix seconds of the chart: the SLO window up to now
    stage_seconds: tuple[tuple[str, float], ...]  # (stage name, seconds in the period), policy order
    stage_bounds: tuple[tuple[str, float | None], ...]  # (stage name, min_remaining), policy order
    alerts: tuple[AlertSpan, ...]


@dataclass(frozen=True)
class Review:
    start: float
    end: float
    period: str
    slos: tuple[SLOReview, ...] = field(default_factory=tuple)


def collect_review(connection: Connection, now: float, period: str, services: tuple[str, ...] = ()) -> Review:
    """Everything the report shows; raises PrometheusUnavailable / NoData like `collect`."""
    rows = collect(connection, services)
    period_seconds = parse_duration(period).seconds
    start = now - period_seconds
    step = max(1.0, period_seconds / MAX_POINTS)
    stages = _stages(connection, start, now, step)
    stage_series = _by_slo(query_range(connection, L.BUDGET_STAGE_INDEX, start, now, step))
    alert_series = query_range(connection, f'ALERTS{{alertstate="firing",{L.SERVICE}!=""}}', start, now, step)
    reviews = []
    for row in rows:
        key = (row.service, row.slo)
        window = parse_duration(row.window).seconds if row.window else period_seconds
        window_step = max(1.0, window / MAX_POINTS)
        selector = L.selector(row.service, row.slo)
        budget = query_range(connection, f"{L.BUDGET_REMAINING}{selector}", now - window, now, window_step)
        pairs = [(finite(t), finite(v)) for t, v in budget[0].get("values", [])] if budget else []
        points = tuple((t, v) for t, v in pairs if t is not None and v is not None)
        reviews.append(
            SLOReview(
                row=row,
                budget_points=points,
                window_range=(now - window, now),
                stage_seconds=_stage_time(stage_series.get(key, []), stages.get(key, {}), step),
                stage_bounds=tuple(stages.get(key, {})[index] for index in sorted(stages.get(key, {}))),
                alerts=_alert_spans([s for s in alert_series if _key(s) == key], step, now),
            )
        )
    return Review(start=start, end=now, period=period, slos=tuple(reviews))


def _key(series: dict) -> tuple[str, str]:
    metric = series.get("metric", {})
    return (metric.get(L.SERVICE, ""), metric.get(L.SLO, ""))


def _by_slo(matrix: list[dict]) -> dict[tuple[str, str], list[list]]:
    return {_key(series): series.get("values", []) for series in matrix}


def _stages(
    connection: Connection, start: float, end: float, step: float
) -> dict[tuple[str, str], dict[int, tuple[str, float | None]]]:
    """Per SLO: stage index -> (name, min_remaining), from the stage info series."""
    stages: dict[tuple[str, str], dict[int, tuple[str, float | None]]] = {}
    for series in query_range(connection, L.BUDGET_STAGE_INFO, start, end, step):
        metric = series.get("metric", {})
        try:
            index = int(metric.get("stage_index", ""))
            minimum = float(metric["min_remaining"]) if metric.get("min_remaining") else None
        except ValueError:
            continue
        stages.setdefault(_key(series), {})[index] = (metric.get(L.BUDGET_STAGE, str(index)), minimum)
    return stages


def _stage_time(
    values: list[list], stages: dict[int, tuple[str, float | None]], step: float
) -> tuple[tuple[str, float], ...]:
    """Seconds per stage: each sample stands for one step. Stages never entered show 0."""
    names = {index: name for index, (name, _) in stages.items()}
    seconds = {index: 0.0 for index in names}
    for _, value in values:
        number = finite(value)
        if number is None:  # NaN, Inf or garbage from the server: not a stage
            continue
        index = int(number)
        seconds[index] = seconds.get(index, 0.0) + step
    return tuple((names.get(index, f"stage {index}"), seconds[index]) for index in sorted(seconds))


def _alert_spans(matrix: list[dict], step: float, now: float) -> tuple[AlertSpan, ...]:
    """Contiguous runs of firing samples; a gap longer than two steps starts a new span."""
    spans = []
    for series in matrix:
        metric = series.get("metric", {})
        times = [t for t in (finite(t) for t, _ in series.get("values", [])) if t is not None]
        run_start = previous = None
        for moment in times + [None]:
            if moment is not None and previous is not None and moment - previous <= 2 * step:
                previous = moment
                continue
            if run_start is not None and previous is not None:
                spans.append(
                    AlertSpan(
                        alertname=metric.get(L.ALERTNAME, ""),
                        severity=metric.get(L.SEVERITY, ""),
                        start=run_start,
                        end=previous,
                        still_firing=now - previous <= 2 * step,
                    )
                )
            run_start = previous = moment
    return tuple(sorted(spans, key=lambda span: (span.start, span.alertname)))
