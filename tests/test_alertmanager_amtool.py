"""amtool over the rendered routing: check-config, every routing test, every template — and that they can fail."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.alertmanager.names import CONFIG_PATH, ROUTING_TESTS_PATH, SUBTREE_PATH, TEMPLATES_DIR
from generator.tools.amtool_checks import check_alertmanager, fixture_alerts, template_data


def copy_of(rendered_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "rendered"
    shutil.copytree(rendered_dir, copy)
    return copy


def kinds(results) -> dict[str, list]:
    grouped: dict[str, list] = {"check-config": [], "routes test": [], "template render": []}
    for result in results:
        kind = next(k for k in grouped if k in result.what)
        grouped[kind].append(result)
    return grouped


def test_rendered_config_routing_tests_and_templates_pass(rendered_dir, amtool):
    results = check_alertmanager(rendered_dir)
    assert [r.what for r in results if not r.ok] == [], [r.output for r in results if not r.ok]
    grouped = kinds(results)
    assert len(grouped["check-config"]) == 1
    cases = yaml.safe_load((rendered_dir / ROUTING_TESTS_PATH).read_text())["tests"]
    assert len(grouped["routes test"]) == len(cases) > 0
    defines = (rendered_dir / TEMPLATES_DIR / "sloforge.tmpl").read_text().count("{{ define ")
    kinds_of_alert = {(c["labels"][L.NOTIFY], c["labels"][L.ALERTNAME] == L.MISSING_SLI_ALERT) for c in cases}
    assert len(kinds_of_alert) == 3  # page, ticket and missing-SLI alerts each fill every template once
    assert len(grouped["template render"]) == defines * len(kinds_of_alert)


def test_swapping_two_teams_receivers_fails_their_routing_tests(rendered_dir, tmp_path, amtool):
    copy = copy_of(rendered_dir, tmp_path)
    path = copy / CONFIG_PATH
    config = yaml.safe_load(path.read_text())
    teams = {route["matchers"][0]: route for route in config["route"]["routes"][0]["routes"]}
    payments, ml = teams[f'{L.TEAM}="payments"']["routes"], teams[f'{L.TEAM}="ml-platform"']["routes"]
    payments[0]["receiver"], ml[0]["receiver"] = ml[0]["receiver"], payments[0]["receiver"]  # the page routes
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    results = check_alertmanager(copy)
    failed = {r.what for r in results if not r.ok}
    cases = yaml.safe_load((copy / ROUTING_TESTS_PATH).read_text())["tests"]
    page_cases = {c["name"] for c in cases if c["labels"][L.NOTIFY] == "page"}
    assert (
        page_cases
        and {what.split(" -> ")[0].removeprefix("amtool config routes test ") for what in failed} == page_cases
    )
    assert all("Expected receivers did not match" in r.output for r in results if not r.ok)


def test_receiver_order_is_checked(rendered_dir, tmp_path, amtool, specs_dir):
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir, specs, ignore=shutil.ignore_patterns("drafts"))
    teams = specs / "teams.yaml"
    teams.write_text(
        teams.read_text().replace(
            "  ml-platform:\n", "  ml-platform:\n    info:\n      webhook: {url: 'https://chatops.example.com/hook'}\n"
        )
    )
    out = tmp_path / "out"
    write_tree(render_all(load_model(specs)), out)
    tests_path = out / ROUTING_TESTS_PATH
    document = yaml.safe_load(tests_path.read_text())
    ml_cases = [c for c in document["tests"] if c["labels"][L.TEAM] == "ml-platform"]
    assert ml_cases and all(
        c["receivers"] == ["ml-platform-info", f"ml-platform-{c['labels'][L.NOTIFY]}"] for c in ml_cases
    )
    assert all(r.ok for r in check_alertmanager(out))
    for case in ml_cases:
        case["receivers"].reverse()
    tests_path.write_text(yaml.safe_dump(document, sort_keys=False))
    failed = [r for r in check_alertmanager(out) if not r.ok]
    assert len(failed) == len(ml_cases)


def test_a_template_that_loses_the_slo_name_fails(rendered_dir, tmp_path, amtool):
    copy = copy_of(rendered_dir, tmp_path)
    template = copy / TEMPLATES_DIR / "sloforge.tmpl"
    text = template.read_text()
    title = '{{ define "sloforge.slack.title" }}{{ template "sloforge.title" . }}{{ end }}'
    assert title in text
    template.write_text(
        text.replace(title, '{{ define "sloforge.slack.title" }}{{ template "sloforge._status" . }}{{ end }}')
    )
    failed = [r for r in check_alertmanager(copy) if not r.ok]
    assert len(failed) == 3 and all("amtool template render sloforge.slack.title (" in r.what for r in failed)
    assert "does not show" in failed[0].output and "[FIRING:1]" in failed[0].output


def test_subtree_mode_is_checked_inside_a_minimal_root(specs_dir, tmp_path, amtool):
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir, specs, ignore=shutil.ignore_patterns("drafts"))
    (specs / "policy.yaml").write_text(
        "apiVersion: sloforge/v1\nkind: Policy\nsettings: {alertmanager_output: subtree}\n"
    )
    out = tmp_path / "out"
    write_tree(render_all(load_model(specs)), out)
    assert (out / SUBTREE_PATH).is_file() and not (out / CONFIG_PATH).exists()
    results = check_alertmanager(out)
    assert results and all(r.ok for r in results), [r.output for r in results if not r.ok]
    assert "check-config alertmanager/sloforge-subtree.yml" in results[0].what


def test_sloforge_validate_fails_on_a_routing_mismatch(rendered_dir, tmp_path, amtool):
    copy = copy_of(rendered_dir, tmp_path)
    tests_path = copy / ROUTING_TESTS_PATH
    document = yaml.safe_load(tests_path.read_text())
    document["tests"][0]["receivers"] = ["ops-catchall"]
    tests_path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = CliRunner().invoke(main, ["validate", "--out", str(copy)])
    assert result.exit_code == 1
    assert f"FAIL amtool config routes test {document['tests'][0]['name']} -> ops-catchall" in result.output


def test_templates_show_burn_rate_and_budget_annotations_when_alerts_carry_them(rendered_dir, tmp_path, amtool):
    document = yaml.safe_load((rendered_dir / ROUTING_TESTS_PATH).read_text())
    case, alert = fixture_alerts(rendered_dir, document)[0]
    alert = {**alert, "annotations": {**alert["annotations"], "burn_rate": "15.21", "budget_consumed": "42%"}}
    data = tmp_path / "data.json"
    data.write_text(json.dumps(template_data(case, alert)))
    glob = str(rendered_dir / TEMPLATES_DIR / "*.tmpl")
    result = subprocess.run(
        [
            amtool,
            "template",
            "render",
            f"--template.glob={glob}",
            '--template.text={{ template "sloforge.slack.text" . }}',
            f"--template.data={data}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "*Burn rate:* 15.21x the sustainable rate" in result.stdout
    assert "*Budget consumed:* 42% of this period's error budget" in result.stdout
    assert f"*Runbook:* {alert['annotations']['runbook_url']}" in result.stdout


def test_cases_that_route_alike_share_one_amtool_run_and_fail_one_by_one(rendered_dir, tmp_path, amtool, monkeypatch):
    """Routing reads only the labels the route tree names: one amtool run per class, each case still reported."""
    from generator.tools import amtool_checks

    copy = copy_of(rendered_dir, tmp_path)
    config = copy / CONFIG_PATH
    routed = amtool_checks.routed_labels(config)
    assert routed is not None and L.TEAM in routed and L.NOTIFY in routed and L.SLO not in routed
    runs: list[str] = []
    real = amtool_checks.route_test

    def counted(config_path: Path, case: dict):
        runs.append(case["name"])
        return real(config_path, case)

    monkeypatch.setattr(amtool_checks, "route_test", counted)
    tests_path = copy / ROUTING_TESTS_PATH
    document = yaml.safe_load(tests_path.read_text())
    cases = document["tests"]
    results = check_alertmanager(copy)
    routes = [r for r in results if "routes test" in r.what]
    assert [r.what.split(" -> ")[0].removeprefix("amtool config routes test ") for r in routes] == [
        c["name"] for c in cases
    ]
    assert all(r.ok for r in routes) and 0 < len(runs) < len(cases)
    # A case expecting the wrong receiver fails alone, with amtool's own output for it.
    wrong = next(c for c in cases if c["labels"][L.NOTIFY] == "page")
    wrong["receivers"] = ["sloforge-default"]
    tests_path.write_text(yaml.safe_dump(document, sort_keys=False))
    failed = [r for r in check_alertmanager(copy) if not r.ok]
    assert [r.what for r in failed] == [f"amtool config routes test {wrong['name']} -> sloforge-default"]
    assert "Expected receivers did not match" in failed[0].output


def test_a_matcher_it_cannot_read_runs_every_case_on_its_own(tmp_path):
    from generator.tools.amtool_checks import routed_labels

    config = tmp_path / "alertmanager.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "route": {
                    "receiver": "a",
                    "match": {"team": "x"},
                    "routes": [{"receiver": "b", "match_re": {"env": "p.*"}, "matchers": ['severity="page"']}],
                },
                "receivers": [{"name": "a"}, {"name": "b"}],
            }
        )
    )
    assert routed_labels(config) == {"team", "env", "severity"}
    config.write_text(yaml.safe_dump({"route": {"receiver": "a", "matchers": ['{team="x", env="p"}']}}))
    assert routed_labels(config) is None
