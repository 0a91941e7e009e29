"""Thin helpers over grafana-foundation-sdk builders: the few panel shapes sloforge draws.

Every panel reads the `datasource` template variable, so one dashboard works
against any Prometheus a Grafana instance knows.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

# The classic dashboard model (what file provisioning and the JSON schema
# describe) warns on import that v2 exists; v2 needs Grafana feature flags.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import common as common_builders
    from grafana_foundation_sdk.builders import dashboard as dashboard_builders
    from grafana_foundation_sdk.builders import prometheus, stat, table, text, timeseries
    from grafana_foundation_sdk.cog import variants as cog_variants
    from grafana_foundation_sdk.cog.builder import Builder
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as common_models
    from grafana_foundation_sdk.models import dashboard as dashboard_models
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat
    from grafana_foundation_sdk.models.text import TextMode

DATASOURCE_VARIABLE = "datasource"
DATASOURCE = common_models.DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VARIABLE + "}")

RED, ORANGE, GREEN, BLUE = "red", "orange", "green", "blue"
PanelBuilder = stat.Panel | timeseries.Panel | table.Panel | text.Panel


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Step:
    """A threshold: `color` from `value` upwards; None is the base colour."""

    value: float | None
    color: str


def targets(queries: Sequence[Query]) -> list[Builder[cog_variants.Dataquery]]:
    """Typed as the panels' `.targets()` takes them (a list is invariant)."""
    result: list[Builder[cog_variants.Dataquery]] = []
    for index, query in enumerate(queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index)).datasource(DATASOURCE)
        if query.legend:
            target = target.legend_format(query.legend)
        if query.instant:
            target = target.instant()
        if query.table:
            target = target.format(PromQueryFormat.TABLE)
        result.append(target)
    return result


def thresholds(steps: Sequence[Step]) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(dashboard_models.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_models.Threshold(value=step.value, color=step.color) for step in steps])
    )


def links(items: Sequence[Link]) -> list[Builder[dashboard_models.DashboardLink]]:
    return [
        dashboard_builders.DashboardLink(item.title).type(dashboard_models.DashboardLinkType.LINK).url(item.url)
        for item in items
    ]


def stat_panel(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str,
    steps: Sequence[Step],
    width: int,
    height: int,
    description: str = "",
    decimals: int | None = None,
    no_value: str = "",
    mappings: Sequence[object] = (),
    panel_links: Sequence[Link] = (),
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit(unit)
        .thresholds(thresholds(steps))
        .color_mode(common_models.BigValueColorMode.BACKGROUND)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .text_mode(common_models.BigValueTextMode.AUTO)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .span(width)
        .height(height)
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    if no_value:
        panel = panel.no_value(no_value)
    if mappings:
        panel = panel.mappings(list(mappings))  # type: ignore[arg-type]
    if panel_links:
        panel = panel.links(links(panel_links))
    return panel


def timeseries_panel(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str,
    width: int,
    height: int = 8,
    description: str = "",
    steps: Sequence[Step] = (),
    soft_min: float | None = None,
    soft_max: float | None = None,
    bands: bool = False,
) -> timeseries.Panel:
    """Time series; `steps` beyond the base colour are dashed threshold lines, or coloured bands with `bands`."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit(unit)
        .line_width(2)
        .fill_opacity(5)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs([])
        )
        .span(width)
        .height(height)
    )
    if steps:
        panel = panel.thresholds(thresholds(steps)).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common_models.GraphThresholdsStyleMode.DASHED_AND_AREA
                if bands
                else common_models.GraphThresholdsStyleMode.DASHED
            )
        )
    if soft_min is not None:
        panel = panel.axis_soft_min(soft_min)
    if soft_max is not None:
        panel = panel.axis_soft_max(soft_max)
    return panel


def markdown_panel(title: str, content: str, *, width: int, height: int) -> text.Panel:
    return text.Panel().title(title).mode(TextMode.MARKDOWN).content(content).span(width).height(height)


def table_panel(
    title: str,
    queries: Sequence[Query],
    *,
    width: int,
    height: int,
    description: str = "",
    unit: str = "",
    decimals: int | None = None,
    transformations: Sequence[dashboard_models.DataTransformerConfig] = (),
    overrides: Sequence[tuple[Sequence[str], list[dashboard_models.DynamicConfigValue]]] = (),
    cell_links: Sequence[Link] = (),
    no_value: str = "",
) -> table.Panel:
    """A table; overrides match fields by name list (`byNames`), the form whose options are an object."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .span(width)
        .height(height)
        .transformations(list(transformations))
    )
    if unit:
        panel = panel.unit(unit)
    if decimals is not None:
        panel = panel.decimals(decimals)
    for names, properties in overrides:
        matcher = dashboard_models.MatcherConfig(id_val="byNames", options={"mode": "include", "names": list(names)})
        panel = panel.with_override(matcher, properties)
    if cell_links:
        panel = panel.data_links(links(cell_links))
    if no_value:
        panel = panel.no_value(no_value)
    return panel


def transformation(kind: str, options: dict) -> dashboard_models.DataTransformerConfig:
    return dashboard_models.DataTransformerConfig(id_val=kind, options=options)


def prop(kind: str, value: object) -> dashboard_models.DynamicConfigValue:
    return dashboard_models.DynamicConfigValue(id_val=kind, value=value)


def value_text(value: str, label: str, color: str) -> dashboard_models.ValueMap:
    return dashboard_models.ValueMap(options={value: dashboard_models.ValueMappingResult(text=label, color=color)})


def row(title: str) -> dashboard_builders.Row:
    return dashboard_builders.Row(title)


def datasource_variable() -> dashboard_builders.DatasourceVariable:
    return dashboard_builders.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")


def custom_variable(name: str, label: str, values: Sequence[str]) -> dashboard_builders.CustomVariable:
    """Multi-select over fixed values, `All` by default."""
    everything = dashboard_models.VariableOption(selected=True, text="All", value="$__all")
    options = [everything] + [dashboard_models.VariableOption(selected=False, text=v, value=v) for v in values]
    return (
        dashboard_builders.CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .multi(True)
        .include_all(True)
        .current(dashboard_models.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .options(options)
    )


def label_values_variable(name: str, label: str, selector: str, label_name: str) -> dashboard_builders.QueryVariable:
    """`label_values(selector, label)` from the datasource, multi-select, `All` by default."""
    query = f"label_values({selector}, {label_name})"
    return (
        dashboard_builders.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(dashboard_models.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(dashboard_models.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def dashboards_link(title: str, tags: Sequence[str]) -> dashboard_builders.DashboardLink:
    """Dropdown of every dashboard carrying `tags` (the other sloforge dashboards)."""
    return (
        dashboard_builders.DashboardLink(title)
        .type(dashboard_models.DashboardLinkType.DASHBOARDS)
        .tags(list(tags))
        .as_dropdown(True)
        .keep_time(True)
        .include_vars(False)
    )


def dashboard_link(title: str, url: str) -> dashboard_builders.DashboardLink:
    return (
        dashboard_builders.DashboardLink(title)
        .type(dashboard_models.DashboardLinkType.LINK)
        .url(url)
        .icon("dashboard")
        .keep_time(True)
        .include_vars(False)
    )


def dashboard(title: str, uid: str, description: str, tags: list[str]) -> dashboard_builders.Dashboard:
    """What every sloforge dashboard shares: read-only (it is generated), last 24h, the datasource variable."""
    return (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(tags)
        .time("now-24h", "now")
        .refresh("1m")
        .timezone("browser")
        .readonly()
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
    )


def to_json(built: dashboard_models.Dashboard) -> str:
    """Panel ids in layout order (Grafana needs them unique), then sorted-key JSON: byte-identical re-renders."""
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    # The SDK objects become plain data through json's C encoder; orjson then
    # indents and sorts 10x faster than json's pure-Python indenting encoder.
    plain = json.loads(json.dumps(built, cls=JSONEncoder))
    return orjson.dumps(plain, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
