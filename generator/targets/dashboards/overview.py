"""The fleet overview: every SLO in one table, worst budget-policy stage first, filterable by team and service."""

from __future__ import annotations

from generator.model.slo import Model
from generator.targets import labels as L
from generator.targets.dashboards import panels as P
from generator.targets.dashboards import queries as Q
from generator.targets.links import OVERVIEW_UID, SLO_VARIABLE

TEAM_SERVICE = f'{{{L.TEAM}=~"${Q.TEAM_VARIABLE}",{L.SERVICE}=~"${Q.SERVICE_VARIABLE}"}}'
# Column order of the SLO table; value columns are Grafana's "Value #<refId>".
COLUMNS = (L.SERVICE, L.SLO, L.TEAM, "Value #E", "Value #A", "Value #B", "Value #C", "Value #D", Q.UID_LABEL)
COLUMN_TITLES = {
    L.SERVICE: "Service",
    L.SLO: "SLO",
    L.TEAM: "Team",
    "Value #A": "Objective",
    "Value #B": "SLI",
    "Value #C": "Budget remaining",
    "Value #D": "Firing alerts",
    "Value #E": "Budget stage (0 = healthiest)",
    Q.UID_LABEL: "Dashboard",
}
BUDGET_STEPS = [P.Step(None, P.RED), P.Step(0, P.ORANGE), P.Step(0.25, P.GREEN)]


def in_filter(expr: str) -> str:
    """Keep series of SLOs the team and service variables select (only slo:info carries `team`)."""
    return f"({expr}) and on({L.SERVICE}, {L.SLO}) {L.INFO}{TEAM_SERVICE}"


def summary_stats() -> list[P.stat.Panel]:
    budget = f"{L.BUDGET_REMAINING}{Q.service_filter()}"
    return [
        P.stat_panel(
            "SLOs",
            [P.Query(Q.count_or_zero(f"{L.INFO}{TEAM_SERVICE}"))],
            unit="none",
            steps=[P.Step(None, P.BLUE)],
            width=6,
            height=4,
        ),
        P.stat_panel(
            "Out of error budget",
            [P.Query(Q.count_or_zero(in_filter(f"{budget} < 0")))],
            unit="none",
            steps=[P.Step(None, P.GREEN), P.Step(1, P.RED)],
            width=6,
            height=4,
            description="SLOs whose error budget over their window is spent.",
        ),
        P.stat_panel(
            "Page alerts firing",
            [P.Query(Q.count_or_zero(Q.firing_alerts("page")))],
            unit="none",
            steps=[P.Step(None, P.GREEN), P.Step(1, P.RED)],
            width=6,
            height=4,
        ),
        P.stat_panel(
            "Ticket alerts firing",
            [P.Query(Q.count_or_zero(Q.firing_alerts("ticket")))],
            unit="none",
            steps=[P.Step(None, P.GREEN), P.Step(1, P.ORANGE)],
            width=6,
            height=4,
        ),
    ]


def slo_table(model: Model) -> P.table.Panel:
    """Merged instant queries, one row per SLO; the worst budget-policy stage sorts first.

    Overrides only set object-valued properties (thresholds, cell options):
    names and units come from transformations and panel defaults.
    """
    service_link = f"/d/${{__data.fields.{Q.UID_LABEL}}}/${{__data.fields.{L.SERVICE}}}?${{datasource:queryparam}}"
    slo_link = service_link + f"&var-{SLO_VARIABLE}=${{__data.fields.{L.SLO}}}"
    budget_steps = {"mode": "absolute", "steps": [{"color": s.color, "value": s.value} for s in BUDGET_STEPS]}
    service_budget = f"{L.BUDGET_REMAINING}{Q.service_filter()}"
    return P.table_panel(
        "SLOs, worst error budget first",
        [
            P.Query(Q.per_slo(f"{L.OBJECTIVE}{Q.service_filter()}", model), instant=True, table=True),
            P.Query(Q.per_slo(Q.overview_sli(model), model, "min"), instant=True, table=True),
            P.Query(Q.per_slo(service_budget, model, "min"), instant=True, table=True),
            P.Query(Q.per_slo(Q.overview_firing(model), model), instant=True, table=True),
            P.Query(Q.per_slo(f"{L.BUDGET_STAGE_INDEX}{Q.service_filter()}", model), instant=True, table=True),
        ],
        width=24,
        height=12,
        description="Every SLO with its objective, its SLI and remaining error budget over its own window, and "
        "its firing alerts. Click a row to open the service dashboard or the SLO's row.",
        unit="percentunit",
        decimals=3,
        transformations=[
            P.transformation("merge", {}),
            P.transformation(
                "sortBy",
                {"fields": {}, "sort": [{"field": "Value #E", "desc": True}, {"field": "Value #C", "desc": False}]},
            ),
            # A count and a stage index, not ratios: as text they escape the table's percent unit.
            P.transformation(
                "convertFieldType",
                {
                    "conversions": [
                        {"targetField": "Value #D", "destinationType": "string"},
                        {"targetField": "Value #E", "destinationType": "string"},
                    ],
                    "fields": {},
                },
            ),
            P.transformation(
                "organize",
                {
                    "excludeByName": {"Time": True},
                    "indexByName": {name: index for index, name in enumerate(COLUMNS)},
                    "renameByName": COLUMN_TITLES,
                },
            ),
        ],
        overrides=[
            (
                ["Value #C", COLUMN_TITLES["Value #C"]],
                [P.prop("thresholds", budget_steps), P.prop("custom.cellOptions", {"type": "color-background"})],
            ),
        ],
        cell_links=[P.Link("Service dashboard", service_link), P.Link("This SLO's row", slo_link)],
    )


def firing_table() -> P.table.Panel:
    hidden = {name: True for name in ("Time", "Value", "__name__", "alertstate")}
    order = (L.ALERTNAME, L.SERVICE, L.SLO, L.TIER, L.SEVERITY, L.NOTIFY, L.TEAM)
    return P.table_panel(
        "Firing SLO alerts",
        [P.Query(Q.firing_alerts(), instant=True, table=True)],
        width=12,
        height=9,
        transformations=[
            P.transformation(
                "organize",
                {"excludeByName": hidden, "indexByName": {name: i for i, name in enumerate(order)}, "renameByName": {}},
            )
        ],
        no_value="no SLO alert is firing",
    )


WORST_GROUPS = 10


def worst_groups_table(model: Model) -> P.table.Panel | None:
    """Grouped SLOs (docs/grouping.md): the groups with the least error budget left, one row each."""
    expr = Q.worst_groups(model, WORST_GROUPS)
    if expr is None:
        return None
    return P.table_panel(
        f"Worst {WORST_GROUPS} groups of grouped SLOs",
        [P.Query(expr, instant=True, table=True)],
        width=24,
        height=9,
        description="A grouped SLO has an error budget per group (route, tenant, ...): the SLO table shows its "
        "worst group; these are the groups with the least budget left across every grouped SLO.",
        unit="percentunit",
        decimals=3,
        transformations=[
            P.transformation("sortBy", {"fields": {}, "sort": [{"field": "Value", "desc": False}]}),
            P.transformation(
                "organize",
                {"excludeByName": {"Time": True, "__name__": True}, "indexByName": {}, "renameByName": {}},
            ),
        ],
        no_value="no grouped SLO has data",
    )


def budget_history() -> P.timeseries.Panel:
    return P.timeseries_panel(
        "Error budget remaining",
        [
            P.Query(
                in_filter(f"{L.BUDGET_REMAINING}{Q.service_filter()}"),
                legend="{{" + L.SERVICE + "}}/{{" + L.SLO + "}}",
            )
        ],
        unit="percentunit",
        width=12,
        height=9,
        steps=[P.Step(None, P.RED), P.Step(0, P.GREEN)],
        soft_max=1,
    )


def overview_dashboard(model: Model) -> P.dashboard_models.Dashboard:
    builder = (
        P.dashboard(
            "SLO overview",
            uid=OVERVIEW_UID,
            description="Every SLO rendered by sloforge, worst error budget first. Generated; edit the specs instead.",
            tags=["sloforge"],
        )
        .with_variable(P.label_values_variable(Q.TEAM_VARIABLE, "Team", L.INFO, L.TEAM))
        .with_variable(
            P.label_values_variable(
                Q.SERVICE_VARIABLE, "Service", f'{L.INFO}{{{L.TEAM}=~"${Q.TEAM_VARIABLE}"}}', L.SERVICE
            )
        )
        .link(P.dashboards_link("SLO dashboards", ["sloforge"]))
    )
    worst = worst_groups_table(model)
    panels = [*summary_stats(), slo_table(model), *([worst] if worst else []), firing_table(), budget_history()]
    for panel in panels:
        builder = builder.with_panel(panel)
    return builder.build()
