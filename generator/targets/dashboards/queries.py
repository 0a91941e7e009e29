"""PromQL the dashboards run: recorded `slo:` series first, raw series only where nothing is recorded.

Names come from `targets.labels` and windows from `targets.rules.windows_of`,
so a dashboard can only read series the rendered rules produce (checked by
tests against the rule files).
"""

from __future__ import annotations

from generator.model.slo import SLO, BoolGaugeSLI, LatencySLI, Model
from generator.targets import labels as L
from generator.targets.links import SLO_VARIABLE, dashboard_uid
from generator.targets.rules import windows_of
from generator.units.durations import Duration
from generator.units.numbers import format_number

TEAM_VARIABLE = "team"
SERVICE_VARIABLE = "service"
UID_LABEL = "dashboard_uid"  # added by the overview so a table row can link to its service dashboard
LATENCY_QUANTILES = ("0.5", "0.9", "0.99")


def slo_selector(slo: SLO, per_group: bool = True, **extra: str) -> str:
    """Identity matchers plus `slo_name=~"$slo"`: the SLO variable narrows a dashboard to one row.

    A grouped SLO's series are narrowed by one variable per grouping label too
    (docs/grouping.md), except the series that exist once per SLO (`per_group=False`:
    objective, budget, info), which have no group label to match.
    """
    groups = "".join(f',{label}=~"${group_variable(label)}"' for label in slo.grouping if per_group)
    return L.selector(slo.service, slo.name, **extra)[:-1] + f',{L.SLO}=~"${SLO_VARIABLE}"{groups}}}'


RESERVED_VARIABLES = {SLO_VARIABLE, TEAM_VARIABLE, SERVICE_VARIABLE, "datasource"}


def group_variable(label: str) -> str:
    """The dashboard variable of a grouping label: its name, unless a sloforge variable has it."""
    return f"group_{label}" if label in RESERVED_VARIABLES else label


def gated(expr: str, slo: SLO) -> str:
    """A raw-series query shown only while the SLO variable selects this SLO."""
    return f"({expr}) and on() {L.INFO}{slo_selector(slo, per_group=False)}"


def error_ratio(slo: SLO, window: Duration) -> str:
    return f"{L.error_ratio_series(window.text)}{slo_selector(slo)}"


def sli(slo: SLO, window: Duration) -> str:
    return f"1 - {error_ratio(slo, window)}"


def objective(slo: SLO) -> str:
    return f"{L.OBJECTIVE}{slo_selector(slo, per_group=False)}"


def budget_remaining(slo: SLO) -> str:
    return f"{L.BUDGET_REMAINING}{slo_selector(slo)}"


def burn_rate(slo: SLO, window: Duration) -> str:
    """Error ratio over `window` divided by the budget: the quantity the tiers compare to their factor."""
    return f"{error_ratio(slo, window)} / {format_number(slo.error_budget)}"


def burn_windows(slo: SLO) -> list[Duration]:
    """Every tier window (short and long), shortest first; the SLO window has its own panels."""
    return [window for window in windows_of(slo) if window.millis != slo.window.millis]


def base_window(slo: SLO) -> Duration:
    return windows_of(slo)[0]


def events(slo: SLO, series: str) -> str:
    """Recorded per-second errors or totals (per-window sample counts for bool gauges)."""
    return f"{series}{base_window(slo)}{slo_selector(slo)}"


def alert_states(slo: SLO) -> str:
    """2 while an alert of this SLO fires, 1 while pending; one series per alertname."""
    firing = f"ALERTS{slo_selector(slo, alertstate='firing')}"
    pending = f"ALERTS{slo_selector(slo, alertstate='pending')}"
    return f"max by ({', '.join((L.ALERTNAME, *slo.grouping))}) (2 * {firing} or {pending})"


def latency_quantile(slo: SLO, quantile: str) -> str:
    assert isinstance(slo.sli, LatencySLI)
    groups = [f'{label}=~"${group_variable(label)}"' for label in slo.grouping]
    matchers = "{" + ",".join(part for part in (slo.sli.selector.strip(), *groups) if part) + "}"
    window = base_window(slo)
    buckets = f"sum by ({', '.join(('le', *slo.grouping))}) (rate({slo.sli.histogram}_bucket{matchers}[{window}]))"
    return gated(f"histogram_quantile({quantile}, {buckets})", slo)


def probe_success(slo: SLO) -> str:
    assert isinstance(slo.sli, BoolGaugeSLI)
    by = f" by ({', '.join(slo.grouping)})" if slo.grouping else ""
    return gated(f"avg{by}({slo.sli.metric})", slo)


# --- overview ----------------------------------------------------------------


def overview_info(model: Model) -> str:
    """`slo:info` filtered by the team and service variables, with the dashboard uid as a label.

    uids are `slo-<service>` except for names too long for Grafana, which get a
    hashed uid; those are mapped one by one so every table row links correctly.
    """
    info = f'{L.INFO}{{{L.TEAM}=~"${TEAM_VARIABLE}",{L.SERVICE}=~"${SERVICE_VARIABLE}"}}'
    expr = f'label_replace({info}, "{UID_LABEL}", "slo-$1", "{L.SERVICE}", "(.*)")'
    for service in model.services:
        uid = dashboard_uid(service.name)
        if uid != f"slo-{service.name}":
            expr = f'label_replace({expr}, "{UID_LABEL}", "{uid}", "{L.SERVICE}", "{service.name}")'
    return expr


def budget_stage(slo: SLO) -> str:
    return f"{L.BUDGET_STAGE_INDEX}{slo_selector(slo)}"


def per_slo(expr: str, model: Model, worst: str = "max") -> str:
    """One row per SLO with the same labels for every overview column, so Grafana can merge them.

    `worst` picks a grouped SLO's worst group: `min` for the SLI and the budget left, `max` for counts and stages.
    """
    keys = f"{L.TEAM}, {L.SERVICE}, {L.SLO}, {UID_LABEL}"
    return f"{worst} by ({keys}) (\n  ({expr})\n  * on({L.SERVICE}, {L.SLO}) group_left({L.TEAM}, {UID_LABEL})\n  {overview_info(model)}\n)"


def service_filter() -> str:
    return f'{{{L.SERVICE}=~"${SERVICE_VARIABLE}"}}'


def overview_sli(model: Model) -> str:
    """1 - error ratio over each SLO's own window: joined on slo_window with the objective series."""
    windows = sorted({slo.window.millis: slo.window for slo in model.slos}.items())
    parts = [
        f"(1 - {L.error_ratio_series(window.text)}{service_filter()}) "
        f"and on({L.SERVICE}, {L.SLO}, {L.WINDOW}) {L.OBJECTIVE}"
        for _, window in windows
    ]
    return "\n  or ".join(parts) if parts else f"{L.OBJECTIVE}{service_filter()} * 0"


def overview_firing(model: Model) -> str:
    """Firing alerts per SLO, 0 for SLOs with none (so the column is never empty)."""
    alerts = f'ALERTS{{alertstate="firing",{L.SERVICE}=~"${SERVICE_VARIABLE}"}}'
    zero = f"0 * {L.INFO}{service_filter()}"
    return f"count by ({L.SERVICE}, {L.SLO}) ({alerts}) or on({L.SERVICE}, {L.SLO}) {zero}"


def firing_alerts(notify: str | None = None) -> str:
    extra = f',{L.NOTIFY}="{notify}"' if notify else ""
    return f'ALERTS{{alertstate="firing",{L.TEAM}=~"${TEAM_VARIABLE}",{L.SERVICE}=~"${SERVICE_VARIABLE}"{extra}}}'


def worst_groups(model: Model, count: int) -> str | None:
    """The `count` groups of grouped SLOs with the least error budget left; None without grouped SLOs."""
    selectors = [
        f'{L.BUDGET_REMAINING}{L.selector(slo.service, slo.name)[:-1]},{L.SERVICE}=~"${SERVICE_VARIABLE}"}}'
        for slo in model.slos
        if slo.grouping
    ]
    return f"bottomk({count}, {' or '.join(selectors)})" if selectors else None


def count_or_zero(expr: str) -> str:
    return f"count({expr}) or vector(0)"
