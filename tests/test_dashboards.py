"""Grafana dashboards: files, determinism, schema, PromQL, cross-references to the rendered rules, alert links."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import promql_parser
import pytest
import yaml
from fixture_paths import SPECS

from generator.output import write_tree
from generator.pipeline import load_model
from generator.spec.promql import vector_selectors
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.dashboards import render_dashboards
from generator.targets.dashboards.queries import burn_windows
from generator.targets.links import (
    OVERVIEW_UID,
    dashboard_path,
    dashboard_uid,
    overview_path,
    runbook_url,
)
from generator.targets.rules import rules_path

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO.parent / "shared" / "reference" / "grafana-dashboard.schema.json"
LABEL_VALUES = re.compile(r"^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$", re.S)


# --- helpers -------------------------------------------------------------------


def dashboards(rendered_dir: Path) -> dict[str, dict]:
    folder = rendered_dir / "grafana" / "dashboards"
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels") or [])
    return found


def expressions(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable (its selector)."""
    found = [
        (panel.get("title", ""), target["expr"]) for panel in panels(dashboard) for target in panel.get("targets", [])
    ]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            match = LABEL_VALUES.match(variable["query"])
            assert match, variable["query"]
            found.append((f"variable {variable['name']}", match.group(1)))
    return found


def recorded_series(rendered_dir: Path) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """(record name -> label sets, alert name -> label sets) from the rendered rule files."""
    records: dict[str, list[dict]] = {}
    alerts: dict[str, list[dict]] = {}
    for path in sorted((rendered_dir / "prometheus" / "rules").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    records.setdefault(rule["record"], []).append(rule.get("labels", {}))
                else:
                    alerts.setdefault(rule["alert"], []).append(rule.get("labels", {}))
    return records, alerts


def matches(labels: dict, matchers: list[tuple[str, str, str]]) -> bool:
    """Do a rule's static labels satisfy the selector? Grafana variables (`$x`) match anything."""
    for name, op, value in matchers:
        if name not in labels or "$" in value:
            continue
        actual = labels[name]
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def unknown_series(expr: str, records: dict, alerts: dict) -> list[str]:
    """Selectors of `expr` that no rendered rule produces: the cross-reference check."""
    problems = []
    for name, matchers in vector_selectors(expr):
        if name.startswith("slo:"):
            if not any(matches(labels, matchers) for labels in records.get(name, [])):
                problems.append(f"{name}{matchers}")
        elif name == "ALERTS":
            names = [v for label, op, v in matchers if label == L.ALERTNAME and op == "="]
            candidates = [labels for alert in names or alerts for labels in alerts.get(alert, [])]
            if not any(matches(labels, [m for m in matchers if m[0] != "alertstate"]) for labels in candidates):
                problems.append(f"ALERTS{matchers}")
    return problems


def rows(dashboard: dict) -> list[tuple[dict, list[dict]]]:
    """(row panel, panels under it) in layout order."""
    result: list[tuple[dict, list[dict]]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            result.append((panel, list(panel.get("panels") or [])))
        elif result:
            result[-1][1].append(panel)
    return result


# --- files and determinism -----------------------------------------------------


def test_a_dashboard_per_service_and_the_overview(example_model, rendered_dir):
    expected = {Path(dashboard_path(s.name)).name for s in example_model.services} | {Path(overview_path()).name}
    assert set(dashboards(rendered_dir)) == expected
    assert len(expected) == len(example_model.services) + 1


def test_render_is_deterministic_canonical_json(example_model):
    first, second = render_dashboards(example_model).files, render_dashboards(load_model(SPECS)).files
    assert first == second
    for path, text in first.items():
        canonical = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert text == canonical, path


def test_uids_derive_from_names_unique_and_short(example_model, rendered_dir):
    found = dashboards(rendered_dir)
    for service in example_model.services:
        dashboard = found[Path(dashboard_path(service.name)).name]
        assert dashboard["uid"] == dashboard_uid(service.name) == f"slo-{service.name}"
    assert found["slo-overview.json"]["uid"] == OVERVIEW_UID
    uids = [d["uid"] for d in found.values()]
    assert len(set(uids)) == len(uids)
    assert all(len(uid) <= 40 for uid in uids)


def test_long_service_names_get_distinct_hashed_uids():
    first, second = "a" * 50 + "-payments", "a" * 50 + "-checkout"
    assert dashboard_uid(first) != dashboard_uid(second)
    assert len(dashboard_uid(first)) == 40 and dashboard_uid(first).startswith("slo-aaaa")
    assert dashboard_uid(first) == dashboard_uid(first)


def test_overview_links_rows_of_long_named_services_to_their_hashed_uid(example_model):
    long_name = "checkout-" + "x" * 40
    service = example_model.services[0]
    renamed = replace(service, name=long_name, slos=tuple(replace(slo, service=long_name) for slo in service.slos))
    model = replace(example_model, services=(renamed, *example_model.services[1:]))
    overview = json.loads(render_dashboards(model).files[overview_path()])
    table = next(p for p in overview["panels"] if p["type"] == "table" and "worst" in p["title"])
    expected = f'"{dashboard_uid(long_name)}", "{L.SERVICE}", "{long_name}")'
    assert all(expected in target["expr"] for target in table["targets"])


@pytest.mark.skipif(not SCHEMA.is_file(), reason=f"{SCHEMA} not present (optional reference file)")
def test_dashboards_match_the_grafana_json_schema(rendered_dir):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    for name, dashboard in dashboards(rendered_dir).items():
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(dashboard)]
        assert not errors, f"{name}: {errors}"
    broken = dict(dashboards(rendered_dir)["checkout.json"], panels="not a list")
    assert list(validator.iter_errors(broken)), "the schema check must be able to fail"


# --- PromQL --------------------------------------------------------------------


def test_every_expression_parses(rendered_dir):
    count = 0
    for name, dashboard in dashboards(rendered_dir).items():
        for where, expr in expressions(dashboard):
            try:
                promql_parser.parse(expr)
            except ValueError as exc:
                pytest.fail(f"{name} / {where}: {exc}\n{expr}")
            count += 1
    assert count > 50


def test_every_slo_series_read_is_produced_by_the_rendered_rules(rendered_dir):
    records, alerts = recorded_series(rendered_dir)
    checked = 0
    for name, dashboard in dashboards(rendered_dir).items():
        for where, expr in expressions(dashboard):
            assert not unknown_series(expr, records, alerts), f"{name} / {where}: {expr}"
            checked += sum(1 for series, _ in vector_selectors(expr) if series.startswith("slo:") or series == "ALERTS")
    assert checked > 100


def test_the_cross_reference_check_catches_series_the_rules_do_not_produce(rendered_dir):
    records, alerts = recorded_series(rendered_dir)
    sel = '{slo_service="checkout",slo_name="availability"}'
    assert not unknown_series(f"slo:sli_error:ratio_rate1h{sel}", records, alerts)
    assert unknown_series(f"slo:sli_error:ratio_rate2d{sel}", records, alerts)  # window not recorded
    assert unknown_series('slo:objective:ratio{slo_service="nope"}', records, alerts)  # no such service
    assert unknown_series(f"slo:sli_error:ratio{sel}", records, alerts)  # misspelt name
    assert unknown_series('ALERTS{alertname="SLOBurnRateNope"}', records, alerts)


def test_every_panel_reads_the_datasource_variable(rendered_dir):
    for name, dashboard in dashboards(rendered_dir).items():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in panels(dashboard):
            if panel["type"] in ("row", "text"):
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"


# --- service dashboards ---------------------------------------------------------


def test_a_row_per_slo_with_its_panels(example_model, rendered_dir):
    found = dashboards(rendered_dir)
    for service in example_model.services:
        dashboard = found[Path(dashboard_path(service.name)).name]
        service_rows = rows(dashboard)
        assert [row["title"].split(":")[0] for row, _ in service_rows] == [slo.name for slo in service.slos]
        for slo, (_, row_panels) in zip(service.slos, service_rows, strict=True):
            text = json.dumps(row_panels)
            by_title = {panel["title"]: panel for panel in row_panels}
            # SLI over the SLO window against the objective
            sli = by_title[f"SLI over {slo.window} vs objective"]
            assert any(L.error_ratio_series(slo.window.text) in t["expr"] for t in sli["targets"])
            assert any(L.OBJECTIVE in t["expr"] for t in sli["targets"])
            # error budget as stat and time series
            assert by_title["Error budget remaining"]["type"] in ("stat", "timeseries")
            assert sum(L.BUDGET_REMAINING in json.dumps(p.get("targets")) for p in row_panels) == 2
            # burn rate per tier window, with every tier's factor drawn as a threshold
            burn = by_title["Burn rate per tier window"]
            windows = [re.search(r"ratio_rate(\w+)\{", t["expr"]).group(1) for t in burn["targets"]]
            assert windows == [w.text for w in burn_windows(slo)]
            drawn = [
                s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"] if s["value"] is not None
            ]
            assert sorted(drawn) == sorted(float(tier.factor) for tier in slo.tiers)
            assert burn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"
            # alert state, links to runbook and overview
            assert "ALERTS{" in by_title["Alerts now"]["targets"][0]["expr"]
            assert runbook_url(example_model.settings, slo) in text
            assert f"/d/{OVERVIEW_UID}/" in text
            # traffic, and latency percentiles only for latency SLIs
            traffic = {"events": "Request and error rates", "latency": "Request and error rates"}
            traffic |= {"bool_gauge": "Probe success", "raw": f"Error ratio over {burn_windows(slo)[0]}"}
            assert traffic[slo.sli.kind] in by_title
            assert ("Latency percentiles" in by_title) == (slo.sli.kind == "latency")
            if slo.sli.kind == "latency":
                latency = json.dumps(by_title["Latency percentiles"]["targets"])
                assert f"{slo.sli.histogram}_bucket" in latency and "histogram_quantile(0.99" in latency


def test_alert_dashboard_urls_point_at_the_dashboard_and_row(example_model, rendered_dir):
    found = dashboards(rendered_dir)
    alerts_seen = 0
    for service in example_model.services:
        for group in yaml.safe_load((rendered_dir / rules_path(service.name)).read_text())["groups"]:
            for rule in (r for r in group["rules"] if "alert" in r):
                path, _, anchor = rule["annotations"]["dashboard_url"].partition("#")
                assert (rendered_dir / path).is_file(), path
                dashboard = found[Path(path).name]
                assert dashboard["uid"] == dashboard_uid(rule["labels"][L.SERVICE])
                row_names = [row["title"].split(":")[0] for row, _ in rows(dashboard)]
                assert anchor == rule["labels"][L.SLO] and anchor in row_names
                alerts_seen += 1
    assert alerts_seen >= len(example_model.slos) * 2


def test_grafana_links_select_the_slo_row(tmp_path):
    model = load_model(SPECS, settings={"dashboard_base_url": "https://grafana.example.com/"})
    out = tmp_path / "rendered"
    write_tree(render_all(model), out)
    found = dashboards(out)
    for slo in model.slos:
        group = next(
            g
            for g in yaml.safe_load((out / rules_path(slo.service)).read_text())["groups"]
            if g["name"].endswith(f"-{slo.name}")
        )
        for rule in (r for r in group["rules"] if "alert" in r):
            url = urlsplit(rule["annotations"]["dashboard_url"])
            assert url.netloc == "grafana.example.com"
            uid = url.path.split("/")[2]
            dashboard = next(d for d in found.values() if d["uid"] == uid)
            assert dashboard["title"] == f"{slo.service} SLOs"
            variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "slo")
            assert parse_qs(url.query)["var-slo"] == [slo.name]
            assert slo.name in [option["value"] for option in variable["options"]]
            # the variable narrows the dashboard: every query of the SLO's row filters on it
            row_panels = next(p for r, p in rows(dashboard) if r["title"].startswith(f"{slo.name}:"))
            for panel in row_panels:
                for target in panel.get("targets", []):
                    assert 'slo_name=~"$slo"' in target["expr"], target["expr"]


# --- overview -------------------------------------------------------------------


def test_overview_lists_every_slo_worst_first_filterable_by_team_and_service(rendered_dir):
    overview = dashboards(rendered_dir)["slo-overview.json"]
    variables = {v["name"]: v for v in overview["templating"]["list"]}
    assert variables["team"]["query"] == f"label_values({L.INFO}, {L.TEAM})"
    assert variables["service"]["query"] == f'label_values({L.INFO}{{team=~"$team"}}, {L.SERVICE})'
    assert variables["team"]["includeAll"] and variables["service"]["multi"]
    table = next(p for p in overview["panels"] if p["type"] == "table" and "worst" in p["title"])
    exprs = [t["expr"] for t in table["targets"]]
    assert all(t["format"] == "table" and t["instant"] for t in table["targets"])
    for series in (L.OBJECTIVE, L.BUDGET_REMAINING, "ALERTS", L.ERROR_RATIO):
        assert any(series in expr for expr in exprs), series
    steps = {t["id"]: t["options"] for t in table["transformations"]}
    # worst budget-policy stage first, then the least budget remaining
    assert steps["sortBy"]["sort"] == [{"field": "Value #E", "desc": True}, {"field": "Value #C", "desc": False}]
    assert any(L.BUDGET_STAGE_INDEX in expr for expr in exprs)
    assert "Budget remaining" in steps["organize"]["renameByName"].values()
    for panel in overview["panels"]:
        for target in panel.get("targets", []):
            assert "$service" in target["expr"] or "$team" in target["expr"], target["expr"]
    links = json.dumps(table["fieldConfig"]["defaults"]["links"])
    assert "var-slo=${__data.fields.slo_name}" in links and "${__data.fields.dashboard_uid}" in links


def test_budget_panels_draw_the_policy_stages_as_bands(rendered_dir):
    from generator.model.budget_policy import DEFAULT_STAGES

    service = dashboards(rendered_dir)["checkout.json"]
    history = [p for p in service["panels"] if p.get("type") == "timeseries" and p["title"] == "Error budget remaining"]
    assert history
    for panel in history:
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["custom"]["thresholdsStyle"]["mode"] == "dashed+area"
        bounds = [step["value"] for step in defaults["thresholds"]["steps"]]
        assert bounds == [None] + sorted(float(s.min_remaining) for s in DEFAULT_STAGES if s.min_remaining is not None)
    stage = [p for p in service["panels"] if p.get("title") == "Budget policy stage"]
    assert stage and L.BUDGET_STAGE_INDEX in stage[0]["targets"][0]["expr"]
    names = {m["options"][k]["text"] for m in stage[0]["fieldConfig"]["defaults"]["mappings"] for k in m["options"]}
    assert names == {s.name + (" (freeze)" if s.freeze else "") for s in DEFAULT_STAGES}
