"""Grouped SLOs (docs/grouping.md): spec checks, rule shape, generated per-group tests and their mutations."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from test_spec_errors import TEAMS, run_cli

from generator.output import read_tree
from generator.spec.grouping import kept_labels
from generator.targets.grouped_tests import grouped_tests_path
from generator.tools.promtool_tests import run_rule_test

GROUPED = "checkout-routes"


def service(slo_body: str, head: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(slo_body), "    ").lstrip()
    return "apiVersion: sloforge/v1\nkind: Service\nservice: shop\nteam: payments\n" + head + f"slos:\n  - {body}"


def events(errors: str, total: str) -> str:
    return f"sli:\n  events:\n    errors: '{errors}'\n    total: '{total}'\n"


BY_ROUTE = events(
    'sum by (route) (rate(req_total{code=~"5.."}[{{.window}}]))', "sum by (route) (rate(req_total[{{.window}}]))"
)
PLAIN = events('rate(req_total{code=~"5.."}[{{.window}}])', "rate(req_total[{{.window}}])")

# (case, file text, "line:col", message fragment)
BAD: list[tuple[str, str, str, str]] = [
    ("sum by without grouping", service("name: a\nobjective: 99\n" + BY_ROUTE), "10:17", "add `grouping: [route]`"),
    (
        "grouped query sums the label away",
        service(
            "name: a\nobjective: 99\ngrouping: [route]\n" + events("sum(rate(e[{{.window}}]))", "rate(t[{{.window}}])")
        ),
        "11:17",
        "drops grouping label(s) route",
    ),
    (
        "raw ratio that loses the label",
        service(
            "name: a\nobjective: 99\ngrouping: [route]\n"
            "sli:\n  raw: {error_ratio: 'sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))'}\n"
        ),
        "10:26",
        "drops grouping label(s) route",
    ),
    (
        "raw ratio matching on() another label",
        service(
            "name: a\nobjective: 99\ngrouping: [route]\n"
            "sli:\n  raw: {error_ratio: 'rate(e[{{.window}}]) / on(job) rate(t[{{.window}}])'}\n"
        ),
        "10:26",
        "drops grouping label(s) route",
    ),
    ("sloforge's label", service("name: a\nobjective: 99\ngrouping: [slo_name]\n" + PLAIN), "8:16", "sloforge's"),
    (
        "histogram bound",
        service("name: a\nobjective: 99\ngrouping: [le]\n" + PLAIN),
        "8:16",
        "sloforge's or Prometheus'",
    ),
    ("listed twice", service("name: a\nobjective: 99\ngrouping: [route, route]\n" + PLAIN), "8:23", "listed twice"),
    (
        "a static label of the service",
        service("name: a\nobjective: 99\ngrouping: [tier]\n" + PLAIN, head="labels: {tier: '1'}\n"),
        "9:16",
        "static label of the service",
    ),
    (
        "a tier label of the SLO",
        service("name: a\nobjective: 99\ngrouping: [route]\nalerting: {page: {labels: {route: x}}}\n" + PLAIN),
        "8:16",
        "static label of this SLO's tier page",
    ),
    ("not a label name", service("name: a\nobjective: 99\ngrouping: [my-route]\n" + PLAIN), "8:16", "does not match"),
    ("max_groups alone", service("name: a\nobjective: 99\nmax_groups: 10\n" + PLAIN), "8:17", "needs `grouping`"),
    (
        "max_groups with an empty grouping",
        service("name: a\nobjective: 99\ngrouping: []\nmax_groups: 10\n" + PLAIN),
        "9:17",
        "`grouping` is empty",
    ),
    (
        "raw ratio whose denominator loses the label",
        service(
            "name: a\nobjective: 99\ngrouping: [route]\n"
            "sli:\n  raw: {error_ratio: 'sum by (route) (rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))'}\n"
        ),
        "10:26",
        "drops grouping label(s) route",
    ),
    (
        "events query joined to a series without the label",
        service(
            "name: a\nobjective: 99\ngrouping: [route]\n"
            + events("rate(e[{{.window}}]) * sum(weight)", "rate(t[{{.window}}])")
        ),
        "11:17",
        "drops grouping label(s) route",
    ),
]

# Not errors: a scalar on either side keeps the vector's labels.
SCALAR_SIDES = [
    "rate(e[5m]) * scalar(sum(weight))",
    "scalar(sum(weight)) * rate(e[5m])",
    "rate(e[5m]) / 60",
    "rate(e[5m]) * time()",
    "rate(e[5m]) * on(route) group_left sum by (route) (weight)",
]


@pytest.mark.parametrize("query", SCALAR_SIDES)
def test_a_scalar_or_matched_side_keeps_the_grouping_label(query: str):
    from generator.spec.grouping import kept_labels

    kept = kept_labels(query, matched=True)
    assert kept is not None and kept.keeps("route"), query


def test_a_label_name_error_describes_the_pattern_it_shows(workdir: Path):
    (workdir / "specs" / "bad.yaml").write_text(service("name: a\nobjective: 99\ngrouping: [my-route]\n" + PLAIN))
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2
    assert "letters, digits and underscores" in result.stderr and "dashes" not in result.stderr, result.stderr


@pytest.mark.parametrize("label", ["severity", "le"])
def test_a_forbidden_grouping_label_gets_one_error_not_advice_to_use_it(workdir: Path, label: str):
    summed = events("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))")  # would also drop the label
    (workdir / "specs" / "bad.yaml").write_text(service(f"name: a\nobjective: 99\ngrouping: [{label}]\n" + summed))
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "specs/bad.yaml:" in line]
    assert len(errors) == 1, result.stderr
    assert f"sum by ({label})" not in result.stderr


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(TEAMS)
    (tmp_path / "out" / "prometheus").mkdir(parents=True)
    (tmp_path / "out" / "prometheus" / "old.yaml").write_text("previous render\n")
    return tmp_path


def test_a_policy_tier_label_named_like_a_grouping_label_is_an_error(workdir: Path):
    """A Policy tier's static `route: fixed` would overwrite every group's route (and break per-group muting)."""
    (workdir / "specs" / "ok.yaml").write_text(service("name: a\nobjective: 99\ngrouping: [route]\n" + PLAIN))
    (workdir / "specs" / "policy.yaml").write_text(
        "apiVersion: sloforge/v1\nkind: Policy\ntiers:\n  page-fast:\n    labels: {route: fixed}\n"
    )
    before = read_tree(workdir / "out")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert "specs/ok.yaml:8:16: " in result.stderr and "Policy tier page-fast" in result.stderr, result.stderr
    assert read_tree(workdir / "out") == before


def test_a_tier_label_named_like_another_slos_grouping_label_is_an_error(workdir: Path):
    """Inhibition's `equal` holds every grouping label in use: a tier-only `route` would stop that tier muting its
    siblings, so the SLO's less severe alerts would notify beside its page."""
    body = service("name: a\nobjective: 99\ngrouping: [route]\n" + PLAIN)
    body += "  - name: b\n    objective: 99\n    alerting: {page-fast: {labels: {route: static}}}\n"
    body += "    " + PLAIN.replace("\n", "\n    ").rstrip() + "\n"
    (workdir / "specs" / "bad.yaml").write_text(body)
    before = read_tree(workdir / "out")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert "specs/bad.yaml:15:37: " in result.stderr and "grouping label of shop/a" in result.stderr, result.stderr
    assert read_tree(workdir / "out") == before


@pytest.mark.parametrize(("case", "text", "position", "fragment"), BAD, ids=[c[0] for c in BAD])
def test_bad_grouping_is_a_spec_error_at_its_position(
    workdir: Path, case: str, text: str, position: str, fragment: str
):
    (workdir / "specs" / "bad.yaml").write_text(text)
    before = read_tree(workdir / "out")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"specs/bad.yaml:{position}: " in result.stderr, result.stderr
    assert fragment in result.stderr, result.stderr
    assert read_tree(workdir / "out") == before


@pytest.mark.parametrize(
    "sli",
    [
        BY_ROUTE,
        PLAIN,
        "sli:\n  raw: {error_ratio: 'sum by (route) (rate(e[{{.window}}])) / sum by (route) (rate(t[{{.window}}]))'}\n",
        "sli:\n  raw: {error_ratio: 'avg_over_time(ratio[{{.window}}])'}\n",
        "sli:\n  latency: {histogram: h, selector: '{job=\"x\"}', threshold: 1s}\n",
        "sli:\n  bool_gauge: {metric: 'probe_success{job=\"x\"}'}\n",
    ],
    ids=["events by route", "events without sum", "raw keeping route", "raw gauge", "latency", "bool gauge"],
)
def test_every_sli_kind_groups(workdir: Path, sli: str):
    (workdir / "specs" / "ok.yaml").write_text(service("name: a\nobjective: 99\ngrouping: [route]\n" + sli))
    result = run_cli("render", "--specs", "specs", "--out", "fresh", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rules = yaml.safe_load((workdir / "fresh" / "prometheus" / "rules" / "shop.yaml").read_text())
    _assert_every_series_keeps(rules, "route")
    assert (workdir / "fresh" / grouped_tests_path("shop")).is_file() or "bool_gauge" in sli or "raw" in sli


def _assert_every_series_keeps(rules: dict, label: str) -> None:
    """Every recorded series except the label-free metadata keeps the grouping label; so does every alert."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            expr = rule["expr"]
            if expr.startswith("vector("):
                continue
            kept = kept_labels(expr)
            assert kept is not None, expr
            assert kept.keeps(label) or rule.get("alert") == "SLOSLIMissing", (rule.get("record"), expr)


def test_max_groups_above_the_threshold_warns(workdir: Path):
    text = service("name: a\nobjective: 99\ngrouping: [route]\nmax_groups: 150\n" + BY_ROUTE)
    (workdir / "specs" / "ok.yaml").write_text(text)
    result = run_cli("render", "--specs", "specs", "--out", "fresh", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "max_groups 150 is above 100" in result.stderr
    (workdir / "specs" / "policy.yaml").write_text(
        "apiVersion: sloforge/v1\nkind: Policy\nsettings: {max_groups_warning: 200}\n"
    )
    result = run_cli("render", "--specs", "specs", "--out", "fresh", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "max_groups" not in result.stderr


def test_inhibition_is_equal_on_grouping_labels(rendered_dir: Path):
    config = yaml.safe_load((rendered_dir / "alertmanager" / "alertmanager.yml").read_text())
    rules = [rule for rule in config["inhibit_rules"] if any("slo_tier" in m for m in rule["source_matchers"])]
    assert rules and all(
        rule["equal"][:2] == ["slo_service", "slo_name"] and "route" in rule["equal"] for rule in rules
    )


def test_example_alerts_carry_the_group_label(rendered_dir: Path):
    rules = yaml.safe_load((rendered_dir / "prometheus" / "rules" / f"{GROUPED}.yaml").read_text())
    _assert_every_series_keeps(rules, "route")


# --- the generated grouped tests and their mutations --------------------------------------------------


def _grouped_files(rendered: Path) -> list[Path]:
    return sorted((rendered / "prometheus" / "tests").glob(f"{GROUPED}.groups*.test.yaml"))


def test_grouped_tests_cover_one_group_ratios_and_appear_vanish(rendered_dir: Path):
    names = [
        test["name"] for path in _grouped_files(rendered_dir) for test in yaml.safe_load(path.read_text())["tests"]
    ]
    for slo in ("route-availability", "route-latency"):
        mine = [name for name in names if name.startswith(f"{GROUPED}/{slo} ")]
        assert any("for that group alone" in name for name in mine), mine
        assert any("traffic weighted within it" in name for name in mine), mine
        assert any("series vanish" in name and "appearing" in name for name in mine), mine


def test_grouped_tests_pass_promtool(rendered_dir: Path, promtool: str):
    for path in _grouped_files(rendered_dir):
        result = run_rule_test(path)
        assert result.ok, result.output


def _recording_rules_with_by(rendered: Path, slo: str) -> list[str]:
    rules = yaml.safe_load((rendered / "prometheus" / "rules" / f"{GROUPED}.yaml").read_text())
    group = next(g for g in rules["groups"] if g["name"] == f"sloforge-{GROUPED}-{slo}")
    return [
        rule["record"] + "@" + rule["labels"]["slo_window"]
        for rule in group["rules"]
        if "record" in rule and "by (route)" in rule["expr"]
    ]


def _drop_by(rendered: Path, tmp_path: Path, slo: str, target: str) -> Path:
    """A copy of the rendered tree where one recording rule of `slo` has lost every `by (route)`."""
    copy = tmp_path / "rendered"
    shutil.copytree(rendered, copy)
    path = copy / "prometheus" / "rules" / f"{GROUPED}.yaml"
    document = yaml.safe_load(path.read_text())
    changed = 0
    for group in document["groups"]:
        if group["name"] != f"sloforge-{GROUPED}-{slo}":
            continue
        for rule in group["rules"]:
            if rule.get("record") and rule["record"] + "@" + rule["labels"]["slo_window"] == target:
                rule["expr"] = re.sub(r"\s*by \(route\)\s*", "", rule["expr"])
                changed += 1
    assert changed == 1
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


def test_every_recording_rule_of_the_example_groups(rendered_dir: Path):
    """The chain the mutation test walks: raw reads, rungs and tiled windows, each `by (route)`."""
    targets = _recording_rules_with_by(rendered_dir, "route-availability")
    assert "slo:sli_errors:rate5m@5m" in targets and "slo:sli_total:rate5m@5m" in targets
    assert len(targets) >= 10, targets


def _mutation_targets() -> list[str]:
    from fixture_paths import SPECS

    from generator.pipeline import load_model
    from generator.targets.rules import render_rules

    text = render_rules(load_model(SPECS)).files[f"prometheus/rules/{GROUPED}.yaml"]
    group = next(g for g in yaml.safe_load(text)["groups"] if g["name"].endswith("route-availability"))
    return [
        r["record"] + "@" + r["labels"]["slo_window"]
        for r in group["rules"]
        if "record" in r and "by (route)" in r["expr"]
    ]


@pytest.mark.parametrize("target", _mutation_targets())
def test_dropping_by_anywhere_in_the_chain_fails_the_grouped_tests(
    target: str, rendered_dir: Path, tmp_path: Path, promtool: str
):
    copy = _drop_by(rendered_dir, tmp_path, "route-availability", target)
    files = _grouped_files(copy)
    assert files
    # The ratio test reads every window; the timing test the alert's. One failing file is enough.
    for path in sorted(files, key=lambda p: ".1d." not in p.name):
        result = run_rule_test(path)
        if not result.ok:
            assert "FAILED" in result.output
            return
    pytest.fail(f"{target} without by (route): every grouped test still passes")


# --- dashboards, explain --------------------------------------------------------------------------------


def test_dashboards_have_a_group_variable_and_the_worst_groups(rendered_dir: Path):
    service = json.loads((rendered_dir / "grafana" / "dashboards" / f"{GROUPED}.json").read_text())
    variables = {v["name"]: v for v in service["templating"]["list"]}
    assert "route" in variables and "label_values(" in str(variables["route"]["query"])
    exprs = [t["expr"] for panel in service["panels"] for t in panel.get("targets", [])]
    assert any('route=~"$route"' in expr for expr in exprs)
    overview = json.loads((rendered_dir / "grafana" / "dashboards" / "slo-overview.json").read_text())
    titles = {panel.get("title", ""): panel for panel in overview["panels"]}
    worst = next(panel for title, panel in titles.items() if title.startswith("Worst"))
    assert "bottomk(" in worst["targets"][0]["expr"] and GROUPED in worst["targets"][0]["expr"]
    table = next(panel for title, panel in titles.items() if title.startswith("SLOs, worst"))
    assert sum(t["expr"].startswith("min by") for t in table["targets"]) == 2  # SLI and budget: the worst group


def test_no_dashboard_query_filters_one_series_per_slo_by_a_group_variable(rendered_dir: Path):
    """slo:objective:ratio, slo:error_budget:ratio and slo:info have no group label: a group matcher empties them."""
    service = json.loads((rendered_dir / "grafana" / "dashboards" / f"{GROUPED}.json").read_text())
    exprs = [t["expr"] for panel in service["panels"] for t in panel.get("targets", [])]
    per_slo = ("slo:objective:ratio", "slo:error_budget:ratio", "slo:info")
    selectors = [m.group(0) for expr in exprs for m in re.finditer(r"(slo:[a-z_:]+)\{[^}]*\}", expr)]
    assert any(selector.startswith(per_slo) for selector in selectors)
    bad = [s for s in selectors if s.startswith(tuple(name + "{" for name in per_slo)) and '=~"$route"' in s]
    assert not bad, bad


def test_a_grouped_slos_panels_draw_and_name_one_line_per_group(rendered_dir: Path):
    service = json.loads((rendered_dir / "grafana" / "dashboards" / f"{GROUPED}.json").read_text())
    targets = [t for panel in service["panels"] for t in panel.get("targets", []) if t.get("expr")]
    per_group = [t for t in targets if "slo:objective:ratio" not in t["expr"] and not t["expr"].startswith("count")]
    unnamed = [t["legendFormat"] for t in per_group if "{{route}}" not in t.get("legendFormat", "")]
    assert not unnamed, unnamed
    latency = [t["expr"] for t in targets if "histogram_quantile" in t["expr"]]
    assert latency and all("by (le, route)" in e and 'route=~"$route"' in e for e in latency), latency


def test_explain_says_the_numbers_hold_per_group(specs_dir: Path, tmp_path: Path):
    result = run_cli("explain", f"{GROUPED}/route-availability", "--specs", str(specs_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "grouped by route; 20 groups expected" in " ".join(result.stdout.split())
    data = run_cli("explain", "--specs", str(specs_dir), "--format", "json", cwd=tmp_path)
    slos = {(s["service"], s["slo"]): s for s in json.loads(data.stdout)["slos"]}
    assert slos[(GROUPED, "route-availability")]["grouping"] == ["route"]
    assert slos[("checkout", "availability")]["grouping"] == []


def test_a_grouped_alert_names_its_group_in_summary_and_description():
    """Notifications print annotations, not labels: the summary must say which route burns."""
    from fixture_paths import SPECS

    from generator.pipeline import load_model
    from generator.targets.alert_text import expand
    from generator.targets.rules import alert_rule

    model = load_model(SPECS)
    slo = next(slo for slo in model.slos if slo.grouping)
    rule = alert_rule(slo, slo.tiers[0], model.settings)
    labels = {label: f"/value-of-{label}" for label in slo.grouping}
    for key in ("summary", "description"):
        text = expand(rule["annotations"][key], 20.0, labels)
        assert all(f"{label}=/value-of-{label}" in text for label in slo.grouping), text


TWO_LABELS = events(
    'sum by (route, region) (rate(req_total{code=~"5.."}[{{.window}}]))',
    "sum by (route, region) (rate(req_total[{{.window}}]))",
)


def test_two_grouping_labels_are_proven_with_groups_that_share_values(workdir: Path, promtool):
    """(g0, g0), (g1, g0), (g0, g1): no one label tells the groups apart, so both must be kept everywhere."""
    (workdir / "specs" / "ok.yaml").write_text(
        service("name: a\nobjective: 99\ngrouping: [route, region]\n" + TWO_LABELS)
    )
    assert run_cli("render", "--specs", "specs", "--out", "fresh", cwd=workdir).returncode == 0
    out = workdir / "fresh"
    files = sorted((out / "prometheus" / "tests").glob("shop.groups*.test.yaml"))
    assert files
    series = {s["series"] for f in files for t in yaml.safe_load(f.read_text())["tests"] for s in t["input_series"]}
    groups = {tuple(re.search(f'{label}="([^"]*)"', s).group(1) for label in ("route", "region")) for s in series}
    assert {("g0", "g0"), ("g1", "g0"), ("g0", "g1")} <= groups
    assert all(run_rule_test(path).ok for path in files)
    rules = out / "prometheus" / "rules" / "shop.yaml"
    rules.write_text(rules.read_text().replace("by (route, region)", "by (route)"))  # region summed away
    assert not all(run_rule_test(path).ok for path in files)
