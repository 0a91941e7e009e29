"""One dashboard per service: a row per SLO, read almost entirely from recorded `slo:` series."""

from __future__ import annotations

from generator.model.slo import SLO, BoolGaugeSLI, EventsSLI, LatencySLI, Service, Settings
from generator.targets import labels as L
from generator.targets.dashboards import panels as P
from generator.targets.dashboards import queries as Q
from generator.targets.dashboards.budget_stages import stage_mappings, stage_steps
from generator.targets.links import (
    OVERVIEW_NAME,
    OVERVIEW_UID,
    SLO_VARIABLE,
    dashboard_uid,
    grafana_path,
    runbook_url,
    slo_row_anchor,
)
from generator.targets.markdown import md_code, md_inline
from generator.units.numbers import format_number

TIER_COLORS = {"page": P.RED, "ticket": P.ORANGE}
SLI_KIND_TEXT = {
    "events": "bad events / all events",
    "latency": "requests slower than the threshold / all requests",
    "raw": "an error ratio computed by the spec's query (time-averaged over long windows)",
    "bool_gauge": "failed samples / all samples of a 1-or-0 gauge",
}


def overview_link() -> str:
    return grafana_path(OVERVIEW_UID, OVERVIEW_NAME)


def row_title(slo: SLO) -> str:
    """Starts with the row anchor, so a file link's `#<slo>` names the row to look for."""
    return f"{slo_row_anchor(slo)}: {format_number(slo.objective)}% over {slo.window}"


def percent_decimals(slo: SLO) -> int:
    """One digit more than the objective shows: 99.9 -> 99.95%."""
    text = format_number(slo.objective)
    return max(2, len(text.split(".")[1]) + 1 if "." in text else 0)


def slo_panels(slo: SLO, settings: Settings) -> list[P.PanelBuilder]:
    runbook = runbook_url(settings, slo)
    panel_links = (P.Link(f"Runbook: {slo.key}", runbook), P.Link("SLO overview", overview_link()))
    row: list[P.PanelBuilder] = [
        P.stat_panel(
            f"SLI, last {slo.window}",
            [P.Query(Q.sli(slo, slo.window), legend=group_legend(slo, ""))],
            unit="percentunit",
            decimals=percent_decimals(slo),
            steps=[P.Step(None, P.RED), P.Step(float(slo.objective_ratio), P.GREEN)],
            width=4,
            height=6,
            description=f"Share of good events over the SLO window; green at or above the objective "
            f"{format_number(slo.objective)}%.",
            no_value="no data",
            panel_links=panel_links,
        ),
        P.stat_panel(
            "Error budget remaining",
            [P.Query(Q.budget_remaining(slo), legend=group_legend(slo, ""))],
            unit="percentunit",
            decimals=1,
            steps=stage_steps(slo.budget_stages),
            width=4,
            height=6,
            description=f"1 - (error ratio over {slo.window} / error budget). Below 0 the SLO is broken. "
            "Colours are the error-budget policy's stages.",
            no_value="no data",
            panel_links=panel_links,
        ),
        P.stat_panel(
            "Budget policy stage",
            [P.Query(Q.budget_stage(slo), legend=group_legend(slo, ""))],
            unit="none",
            steps=[P.Step(None, P.BLUE)],
            width=4,
            height=6,
            description="; ".join(
                f"{stage.name}: {stage.action}"
                + ("" if stage.min_remaining is None else f" (above {format_number(stage.min_remaining * 100)}% left)")
                for stage in slo.budget_stages
            ),
            no_value="no data",
            mappings=stage_mappings(slo.budget_stages),
        ),
        P.stat_panel(
            "Alerts now",
            [P.Query(Q.alert_states(slo), legend=group_legend(slo, "{{" + L.ALERTNAME + "}}"))],
            unit="none",
            steps=[P.Step(None, P.GREEN)],
            width=6,
            height=6,
            description="State of this SLO's alerts from the ALERTS series: pending or firing.",
            no_value="none pending or firing",
            mappings=[P.value_text("1", "pending", P.ORANGE), P.value_text("2", "firing", P.RED)],
        ),
        P.markdown_panel("About this SLO", about(slo, runbook), width=6, height=6),
        P.timeseries_panel(
            f"SLI over {slo.window} vs objective",
            [
                P.Query(Q.sli(slo, slo.window), legend=group_legend(slo, f"SLI over {slo.window}")),
                P.Query(Q.objective(slo), legend="objective"),
            ],
            unit="percentunit",
            width=12,
            soft_max=1,
        ),
        P.timeseries_panel(
            "Error budget remaining",
            [P.Query(Q.budget_remaining(slo), legend=group_legend(slo, "budget remaining"))],
            unit="percentunit",
            width=12,
            steps=stage_steps(slo.budget_stages),
            bands=True,
            soft_min=0,
            soft_max=1,
        ),
        burn_rate_panel(slo),
        traffic_panel(slo),
    ]
    if isinstance(slo.sli, LatencySLI):
        row.append(latency_panel(slo))
    return row


def group_legend(slo: SLO, text: str) -> str:
    """A grouped SLO draws one line per group: the legend names it (`over 5m {{route}}`)."""
    return " ".join(part for part in (text, *("{{" + label + "}}" for label in slo.grouping)) if part)


def burn_rate_panel(slo: SLO) -> P.timeseries.Panel:
    """Burn rate over every tier window; each tier's factor is a dashed threshold line."""
    steps = [P.Step(None, "transparent")] + [
        P.Step(float(tier.factor), TIER_COLORS.get(tier.notify, P.ORANGE))
        for tier in sorted(slo.tiers, key=lambda tier: tier.factor)
    ]
    tiers = "; ".join(
        f"{tier.name}: {format_number(tier.factor)}x over {tier.long_window} and {tier.short_window}"
        for tier in slo.tiers
    )
    return P.timeseries_panel(
        "Burn rate per tier window",
        [
            P.Query(Q.burn_rate(slo, window), legend=group_legend(slo, f"over {window}"))
            for window in Q.burn_windows(slo)
        ],
        unit="suffix:x",
        width=12,
        steps=steps,
        soft_min=0,
        description="Error ratio over each window divided by the error budget (1x spends the budget exactly "
        f"over {slo.window}). Tiers fire when both of their windows are above the line: {tiers or 'no tiers enabled'}.",
    )


def traffic_panel(slo: SLO) -> P.timeseries.Panel:
    base = Q.base_window(slo)
    if isinstance(slo.sli, BoolGaugeSLI):
        return P.timeseries_panel(
            "Probe success",
            [
                P.Query(Q.probe_success(slo), legend=group_legend(slo, "probe success (raw)")),
                P.Query(Q.sli(slo, base), legend=group_legend(slo, f"success ratio over {base}")),
            ],
            unit="percentunit",
            width=12,
            soft_max=1,
        )
    if isinstance(slo.sli, EventsSLI | LatencySLI):
        bad = "slow requests/s" if isinstance(slo.sli, LatencySLI) else "errors/s"
        return P.timeseries_panel(
            "Request and error rates",
            [
                P.Query(Q.events(slo, L.TOTAL_RATE), legend=group_legend(slo, "requests/s")),
                P.Query(Q.events(slo, L.ERRORS_RATE), legend=group_legend(slo, bad)),
            ],
            unit="reqps",
            width=12,
            soft_min=0,
        )
    return P.timeseries_panel(
        f"Error ratio over {base}",
        [P.Query(Q.error_ratio(slo, base), legend=group_legend(slo, f"error ratio over {base}"))],
        unit="percentunit",
        width=12,
        steps=[P.Step(None, "transparent"), P.Step(float(slo.error_budget), P.ORANGE)],
        soft_min=0,
        description="The spec's own ratio; the dashed line is the error budget (burn rate 1x).",
    )


def latency_panel(slo: SLO) -> P.timeseries.Panel:
    assert isinstance(slo.sli, LatencySLI)
    threshold = slo.sli.threshold.seconds
    return P.timeseries_panel(
        "Latency percentiles",
        [
            P.Query(Q.latency_quantile(slo, q), legend=group_legend(slo, f"p{format_number(float(q) * 100)}"))
            for q in Q.LATENCY_QUANTILES
        ],
        unit="s",
        width=24,
        steps=[P.Step(None, "transparent"), P.Step(threshold, P.RED)],
        soft_min=0,
        description=f"From the {slo.sli.histogram} histogram; the dashed line is the SLI threshold {slo.sli.threshold}.",
    )


def about(slo: SLO, runbook: str) -> str:
    objective = format_number(slo.objective)
    budget = format_number(slo.error_budget * 100)
    lines = [
        f"**{md_inline(slo.description or slo.name)}**",
        "",
        f"Objective **{objective}%** over **{slo.window}**; error budget {budget}%. "
        f"SLI: {SLI_KIND_TEXT.get(slo.sli.kind, slo.sli.kind)}.",
        "",
        "| tier | notifies | long / short window | burn rate | budget spent when firing |",
        "|---|---|---|---|---|",
    ]
    for tier in slo.tiers:
        lines.append(
            f"| {tier.name} | {tier.notify} ({tier.severity}) | {tier.long_window} / {tier.short_window} "
            f"| {format_number(tier.factor)}x | {format_number(tier.budget_share * 100)}% |"
        )
    if not slo.tiers:
        lines.append("| (none enabled) | | | | |")
    lines += ["", f"[Runbook]({runbook}) · [SLO overview]({overview_link()}) · spec: {md_code(slo.source)}"]
    return "\n".join(lines)


def service_dashboard(service: Service, settings: Settings) -> P.dashboard_models.Dashboard:
    builder = (
        P.dashboard(
            f"{service.name} SLOs",
            uid=dashboard_uid(service.name),
            description=f"{service.description or service.name} (team {service.team}). Generated by sloforge from "
            f"{service.source}; edit the spec, not this dashboard.",
            tags=["sloforge", f"team:{service.team}"],
        )
        .with_variable(P.custom_variable(SLO_VARIABLE, "SLO", [slo.name for slo in service.slos]))
        .link(P.dashboard_link("SLO overview", overview_link()))
        .link(P.dashboards_link("SLO dashboards", ["sloforge"]))
    )
    for label in sorted({label for slo in service.slos for label in slo.grouping}):
        grouped = "|".join(slo.name for slo in service.slos if label in slo.grouping)
        selector = f'{L.BUDGET_REMAINING}{{{L.SERVICE}="{service.name}",{L.SLO}=~"{grouped}"}}'
        builder = builder.with_variable(P.label_values_variable(Q.group_variable(label), label, selector, label))
    for slo in service.slos:
        builder = builder.with_row(P.row(row_title(slo)))
        for panel in slo_panels(slo, settings):
            builder = builder.with_panel(panel)
    return builder.build()
