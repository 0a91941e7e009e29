"""`sloforge budget`: the error-budget state of every SLO, read from the recorded series only.

Nothing here reads the specs: the stage names, actions and freeze flags come
from the `slo:error_budget_stage:info` series the rules record, so the report
matches what Prometheus alerts on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from generator.live.prometheus_api import Connection, finite, query
from generator.targets import labels as L

GATE_FROZEN = 3  # exit code of `--gate` when a selected SLO is in a freezing stage


@dataclass(frozen=True)
class BudgetRow:
    service: str
    slo: str
    objective: str
    window: str
    budget_remaining: float | None
    burn_rate_1h: float | None
    burn_rate_1d: float | None
    stage: str | None
    action: str | None
    freeze: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class NoData(RuntimeError):
    """A selected service or SLO has no recorded series (exit 1)."""


def collect(connection: Connection, services: tuple[str, ...] = ()) -> list[BudgetRow]:
    """One row per SLO known to Prometheus (`slo:info`), optionally only of `services`."""
    info = {_key(sample): sample["metric"] for sample in query(connection, L.INFO)}
    if services:
        missing = sorted(set(services) - {service for service, _ in info})
        if missing:
            raise NoData(f"no SLOs of service(s) {', '.join(missing)} in Prometheus (no {L.INFO} series)")
        info = {key: labels for key, labels in info.items() if key[0] in services}
    if not info:
        raise NoData(f"Prometheus has no {L.INFO} series: are sloforge's rules loaded?")
    # A grouped SLO has a budget per group (docs/grouping.md): its row is its worst group.
    remaining = _values(connection, f"min by ({SLO_KEY}) ({L.BUDGET_REMAINING})")
    stage_index = _values(connection, f"max by ({SLO_KEY}) ({L.BUDGET_STAGE_INDEX})")
    burn = {window: _values(connection, _burn_rate(window)) for window in ("1h", "1d")}
    stages = {
        (*_key(sample), sample["metric"].get("stage_index", "")): sample["metric"]
        for sample in query(connection, L.BUDGET_STAGE_INFO)
    }
    rows = []
    for key in sorted(info):
        labels = info[key]
        index = stage_index.get(key)
        stage = stages.get((*key, str(int(index)))) if index is not None else None
        rows.append(
            BudgetRow(
                service=key[0],
                slo=key[1],
                objective=labels.get("objective", ""),
                window=labels.get("window", ""),
                budget_remaining=remaining.get(key),
                burn_rate_1h=burn["1h"].get(key),
                burn_rate_1d=burn["1d"].get(key),
                stage=stage.get(L.BUDGET_STAGE) if stage else None,
                action=stage.get("action") if stage else None,
                freeze=bool(stage and stage.get("freeze") == "true"),
            )
        )
    return rows


def without_data(rows: list[BudgetRow]) -> list[BudgetRow]:
    """SLOs whose budget or stage is not recorded (no traffic in the window, or rules not loaded)."""
    return [row for row in rows if row.budget_remaining is None or row.stage is None]


SLO_KEY = f"{L.SERVICE}, {L.SLO}"


def _burn_rate(window: str) -> str:
    """The burn rate over `window`, of a grouped SLO's fastest-burning group."""
    return f"max by ({SLO_KEY}) ({L.error_ratio_series(window)}) / on({SLO_KEY}) {L.ERROR_BUDGET}"


def _key(sample: dict) -> tuple[str, str]:
    metric = sample.get("metric", {})
    return (metric.get(L.SERVICE, ""), metric.get(L.SLO, ""))


def _values(connection: Connection, expr: str) -> dict[tuple[str, str], float]:
    """Finite values only: NaN or ±Inf (a hostile or broken server, an empty window) count as no data."""
    values = {}
    for sample in query(connection, expr):
        raw = sample.get("value") if isinstance(sample, dict) else None
        value = finite(raw[1]) if isinstance(raw, list) and len(raw) == 2 else None
        if value is not None:
            values[_key(sample)] = value
    return values
