"""Alertmanager renderer: routing from team ownership, inhibition, base merge, checks and spec errors."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fixture_paths import SPECS

from generator.cli import main
from generator.output import read_tree
from generator.pipeline import load_model
from generator.spec.schema import SECRET_FIELDS
from generator.targets import labels as L
from generator.targets import render_all
from generator.targets.alertmanager import consistency_warnings, render_alertmanager
from generator.targets.alertmanager.names import CONFIG_PATH, ROUTING_TESTS_PATH, SUBTREE_PATH

TEAMS_NO_BASE = """\
apiVersion: sloforge/v1
kind: Teams
teams:
  payments:
    page: {pagerduty: {routing_key_file: /etc/alertmanager/secrets/payments-pd}}
    ticket: {slack: {channel: "#payments", api_url_file: /etc/alertmanager/secrets/slack}}
  ml-platform:
    page: {opsgenie: {api_key_file: /etc/alertmanager/secrets/ml-opsgenie}}
    ticket: {email: {to: ml@example.com, from: am@example.com, smarthost: "smtp.example.com:587"}}
"""


def copy_specs(specs_dir: Path, tmp_path: Path, *, base: bool = True) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir, specs, ignore=shutil.ignore_patterns("drafts"))
    if not base:
        (specs / "alertmanager.base.yml").unlink()
        (specs / "teams.yaml").write_text(TEAMS_NO_BASE)
    return specs


def config_of(tree: dict[str, str]) -> dict:
    return yaml.safe_load(tree[CONFIG_PATH])


def rule_alerts(tree: dict[str, str]) -> list[dict]:
    """Every alert of the rendered rule files as Alertmanager receives it (labels incl. alertname)."""
    alerts = []
    for path, text in tree.items():
        if path.startswith("prometheus/rules/"):
            for group in yaml.safe_load(text)["groups"]:
                for rule in group["rules"]:
                    if "alert" in rule:
                        alerts.append({L.ALERTNAME: rule["alert"], **rule["labels"]})
    return alerts


def test_routing_tests_cover_every_rendered_alert_with_its_full_label_set(example_model):
    tree = render_all(example_model)
    cases = yaml.safe_load(tree[ROUTING_TESTS_PATH])["tests"]
    expected = sorted(sorted(alert.items()) for alert in rule_alerts(tree))
    assert sorted(sorted(case["labels"].items()) for case in cases) == expected
    # every tier + missing-SLI + a budget-freeze alert per freezing stage
    assert len(cases) == sum(
        len(slo.tiers) + 1 + sum(stage.freeze for stage in slo.budget_stages) for slo in example_model.slos
    )


def test_routes_are_team_then_notify_class_and_expectations_follow_ownership(example_model):
    tree = render_all(example_model)
    sloforge = config_of(tree)["route"]["routes"][0]
    assert sloforge["matchers"] == [f'{L.SERVICE}=~".+"'] and "receiver" not in sloforge
    assert sloforge["group_by"] == [L.SERVICE, L.SLO, L.ALERTNAME]
    teams = {route["matchers"][0]: route for route in sloforge["routes"]}
    assert set(teams) == {f'{L.TEAM}="{team.name}"' for team in example_model.teams}
    payments = teams[f'{L.TEAM}="payments"']["routes"]
    assert [(r["matchers"], r["receiver"]) for r in payments] == [
        ([f'{L.NOTIFY}="page"'], "payments-page"),
        ([f'{L.NOTIFY}="ticket"'], "payments-ticket"),
    ]
    assert payments[0]["repeat_interval"] == "1h" and payments[1]["repeat_interval"] == "12h"
    assert payments[1]["active_time_intervals"] == ["payments-business-hours"]  # tickets wait for business hours
    for case in yaml.safe_load(tree[ROUTING_TESTS_PATH])["tests"]:
        team, notify = case["labels"][L.TEAM], case["labels"][L.NOTIFY]
        assert case["receivers"] == [f"{team}-{notify}"], case["name"]


def test_inhibition_page_over_ticket_fast_over_slow_missing_last_of_its_class(example_model):
    rules = config_of(render_all(example_model))["inhibit_rules"]
    pairs = {
        (tuple(r["source_matchers"]), tuple(r["target_matchers"]))
        for r in rules
        if r["equal"][:2] == [L.SERVICE, L.SLO]
    }
    # every example SLO pages, so its SLOSLIMissing is a page: below the page tiers, above the tickets;
    # the error-budget freeze notice is the least severe ticket
    page, ticket = f'{L.NOTIFY}="page"', f'{L.NOTIFY}="ticket"'
    tickets = f'{L.TIER}=~"budget-freeze|ticket-fast|ticket-slow"'
    assert pairs == {
        ((f'{L.TIER}="page-fast"', page), (f'{L.TIER}=~"missing-sli|page-slow"', page)),
        ((f'{L.TIER}="page-fast"', page), (tickets, ticket)),
        ((f'{L.TIER}="page-slow"', page), (f'{L.TIER}="missing-sli"', page)),
        ((f'{L.TIER}="page-slow"', page), (tickets, ticket)),
        ((f'{L.TIER}="missing-sli"', page), (tickets, ticket)),
        ((f'{L.TIER}="ticket-fast"', ticket), (f'{L.TIER}=~"budget-freeze|ticket-slow"', ticket)),
        ((f'{L.TIER}="ticket-slow"', ticket), (f'{L.TIER}="budget-freeze"', ticket)),
    }
    # the base config's own inhibit rule is kept
    assert any(r["equal"] == ["instance"] for r in rules)


def test_tier_order_that_differs_per_slo_scopes_the_fast_over_slow_rule(specs_dir, tmp_path):
    specs = copy_specs(specs_dir, tmp_path)
    checkout = specs / "checkout.yaml"
    # checkout/latency: page-fast now looks further back than page-slow, so it is the slower one there.
    checkout.write_text(
        checkout.read_text().replace(
            "ticket-slow: {enabled: false}", "ticket-slow: {enabled: false}\n      page-fast: {long_window: 12h}"
        )
    )
    model = load_model(specs)
    rules = config_of(render_alertmanager(model).files)["inhibit_rules"]

    def scopes(source_tier: str, target_tier: str) -> list[list[str]]:
        return [
            r["source_matchers"][2:]
            for r in rules
            if r["source_matchers"][0] == f'{L.TIER}="{source_tier}"'
            and target_tier in r["target_matchers"][0].split('"')[1].split("|")  # slo_tier="x" or =~"x|y"
        ]

    others = [
        slo
        for slo in model.slos
        if {"page-fast", "page-slow"} <= {t.name for t in slo.tiers} and slo.key != "checkout/latency"
    ]
    assert others
    assert scopes("page-fast", "page-slow") == [
        [f'{L.SERVICE}="{slo.service}"', f'{L.SLO}="{slo.name}"'] for slo in others
    ]
    assert scopes("page-slow", "page-fast") == [[f'{L.SERVICE}="checkout"', f'{L.SLO}="latency"']]
    assert scopes("ticket-fast", "ticket-slow") == [[]]  # unaffected pairs stay one global rule


def test_base_merge_keeps_global_routes_and_receivers_and_puts_slo_route_first(specs_dir, example_model):
    base = yaml.safe_load((specs_dir / "alertmanager.base.yml").read_text())
    config = config_of(render_all(example_model))
    assert config["global"] == base["global"]
    assert config["route"]["receiver"] == base["route"]["receiver"]
    assert config["route"]["routes"][1:] == base["route"]["routes"]
    assert config["route"]["routes"][0]["matchers"] == [f'{L.SERVICE}=~".+"']
    names = [r["name"] for r in config["receivers"]]
    assert names[: len(base["receivers"])] == [r["name"] for r in base["receivers"]]
    assert {"payments-page", "payments-ticket", "ml-platform-page", "ml-platform-ticket"} <= set(names)
    assert yaml.safe_load(render_all(example_model)[ROUTING_TESTS_PATH])["default_receiver"] == "ops-catchall"


def test_without_base_a_standalone_config_with_a_default_receiver(specs_dir, tmp_path):
    tree = render_alertmanager(load_model(copy_specs(specs_dir, tmp_path, base=False))).files
    config = config_of(tree)
    assert "global" not in config
    assert config["route"]["receiver"] == "sloforge-default"
    assert config["receivers"][0] == {"name": "sloforge-default"}
    assert yaml.safe_load(tree[ROUTING_TESTS_PATH])["default_receiver"] == "sloforge-default"


def test_subtree_mode_renders_only_the_parts_to_include(specs_dir, tmp_path):
    specs = copy_specs(specs_dir, tmp_path)
    (specs / "policy.yaml").write_text(
        "apiVersion: sloforge/v1\nkind: Policy\nsettings: {alertmanager_output: subtree}\n"
    )
    model = load_model(specs)
    tree = render_alertmanager(model).files
    assert CONFIG_PATH not in tree and SUBTREE_PATH in tree
    subtree = yaml.safe_load(tree[SUBTREE_PATH])
    assert set(subtree) == {"route", "receivers", "inhibit_rules", "time_intervals", "templates"}
    assert "ops-catchall" not in str(subtree)  # the base is not merged in subtree mode
    assert any("alertmanager.base.yml is not used" in w for w in consistency_warnings(model))


def test_receivers_reference_secrets_only_by_file_and_use_the_templates(example_model):
    config = config_of(render_all(example_model))
    generated = [r for r in config["receivers"] if r["name"].startswith(("payments-", "ml-platform-"))]
    for receiver in generated:
        for kind, integrations in receiver.items():
            if kind == "name":
                continue
            for integration in integrations:
                assert not set(integration) & (set(SECRET_FIELDS) - {"url", "api_url"}), integration
                if kind == "slack":
                    assert "api_url" not in integration
    by_name = {r["name"]: r for r in generated}
    assert by_name["payments-page"]["pagerduty_configs"][0]["routing_key_file"].startswith("/etc/alertmanager/secrets/")
    assert "sloforge.pagerduty.description" in by_name["payments-page"]["pagerduty_configs"][0]["description"]
    assert "sloforge.slack.text" in by_name["payments-ticket"]["slack_configs"][0]["text"]
    assert "sloforge.email.subject" in by_name["ml-platform-ticket"]["email_configs"][0]["headers"]["Subject"]


def test_render_is_byte_identical(example_model):
    assert render_alertmanager(example_model) == render_alertmanager(example_model)
    first = render_alertmanager(load_model(SPECS))
    assert first == render_alertmanager(example_model)


def test_templates_fill_label_names_from_the_labels_module(example_model):
    text = render_all(example_model)["alertmanager/templates/sloforge.tmpl"]
    assert "[[" not in text and "]]" not in text
    assert (
        f".CommonLabels.{L.SERVICE}" in text and f".CommonLabels.{L.SLO}" in text and f".CommonLabels.{L.TIER}" in text
    )
    for define in (
        "sloforge.slack.title",
        "sloforge.slack.text",
        "sloforge.pagerduty.description",
        "sloforge.email.subject",
    ):
        assert f'define "{define}"' in text


# --- consistency checks ------------------------------------------------------


def test_example_specs_route_cleanly(example_model):
    assert consistency_warnings(example_model) == []


def test_unowned_team_unmatched_route_and_unused_receivers_are_warned(specs_dir, tmp_path):
    specs = copy_specs(specs_dir, tmp_path)
    teams = specs / "teams.yaml"
    teams.write_text(
        teams.read_text()
        + "  search:\n    page:\n      pagerduty: {routing_key_file: /etc/alertmanager/secrets/search}\n"
    )
    warnings = consistency_warnings(load_model(specs))
    assert any('team="search"' in w and "matches no generated alert" in w for w in warnings), warnings
    assert any("'search-page'" in w and "receives no alert" in w for w in warnings), warnings


def test_alert_that_reaches_only_the_default_receiver_is_warned(specs_dir, tmp_path):
    specs = copy_specs(specs_dir, tmp_path)
    teams = specs / "teams.yaml"
    text = teams.read_text().replace(
        '    ticket:\n      slack: {channel: "#payments-alerts", api_url_file: /etc/alertmanager/secrets/slack-webhook}\n',
        "",
    )
    assert text != teams.read_text()
    teams.write_text(text)
    model = load_model(specs)
    warnings = consistency_warnings(model)
    assert any(
        "checkout/availability SLOBurnRateTicketFast reaches only the default receiver 'ops-catchall'" in w
        for w in warnings
    ), warnings
    case = next(
        c
        for c in yaml.safe_load(render_alertmanager(model).files[ROUTING_TESTS_PATH])["tests"]
        if c["name"] == "checkout/availability SLOBurnRateTicketFast"
    )
    assert case["receivers"] == ["ops-catchall"]


def test_service_of_an_unknown_team_is_warned(example_model):
    services = (replace(example_model.services[0], team="nobody"), *example_model.services[1:])
    warnings = consistency_warnings(replace(example_model, services=services))
    assert any("names team 'nobody'" in w for w in warnings), warnings


# --- bad input: file:line:col, exit 2, nothing written -------------------------


def render_cli(specs: Path, out: Path):
    return CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)])


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            lambda text: text.replace(
                "smtp_auth_password_file: /etc/alertmanager/secrets/smtp-password", "smtp_auth_password: hunter2"
            ),
            "alertmanager.base.yml:11:3: 'smtp_auth_password' would copy a secret into rendered/; use 'smtp_auth_password_file'",
        ),
        (
            lambda text: text.replace("  - name: blackhole", "  - name: payments-page"),
            "alertmanager.base.yml:30:11: receiver name 'payments-page' is generated by sloforge",
        ),
        (
            lambda text: text.replace("  receiver: ops-catchall\n", ""),
            "alertmanager.base.yml:12:1: the root route needs a default `receiver`",
        ),
    ],
)
def test_bad_base_config_is_a_spec_error(specs_dir, tmp_path, mutation, message):
    specs = copy_specs(specs_dir, tmp_path)
    base = specs / "alertmanager.base.yml"
    base.write_text(mutation(base.read_text()))
    out = tmp_path / "out"
    (out / "keep.txt").parent.mkdir()
    (out / "keep.txt").write_text("previous render")
    result = render_cli(specs, out)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and read_tree(out) == {"keep.txt": "previous render"}
    if "hunter2" in base.read_text():
        assert "hunter2" not in result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "pagerduty: {routing_key_file: /etc/alertmanager/secrets/payments-pagerduty}",
            "pagerduty: {routing_key: 0123456789abcdef0123456789abcdef}",
            "teams.yaml:7:19: 'routing_key' would put a secret into the spec; reference a file instead with 'routing_key_file'",
        ),
        (
            "location: Europe/Berlin",
            "location: Europe/Atlantis",
            "teams.yaml:11:17: teams.payments.business_hours.location: unknown time zone",
        ),
        (
            "pagerduty: {routing_key_file: /etc/alertmanager/secrets/payments-pagerduty}",
            "pagerduty: {routing_key_file: /etc/alertmanager/secrets/pd, url: 'https://${PD_HOST}/v2/enqueue'}",
            "does not expand environment variables",
        ),
    ],
)
def test_bad_teams_spec_is_a_spec_error(specs_dir, tmp_path, old, new, message):
    specs = copy_specs(specs_dir, tmp_path)
    teams = specs / "teams.yaml"
    assert old in teams.read_text()
    teams.write_text(teams.read_text().replace(old, new))
    out = tmp_path / "out"
    result = render_cli(specs, out)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "0123456789abcdef" not in result.output  # the secret itself is never echoed
    assert not out.exists()


def test_team_intervals_override_the_per_class_defaults(specs_dir, tmp_path):
    specs = copy_specs(specs_dir, tmp_path)
    teams = specs / "teams.yaml"
    teams.write_text(
        teams.read_text().replace(
            "    business_hours:\n",
            "    repeat_interval: {page: 30m, ticket: 1d}\n    group_interval: {page: 2m}\n    business_hours:\n",
        )
    )
    sloforge = config_of(render_alertmanager(load_model(specs)).files)["route"]["routes"][0]
    payments = next(r for r in sloforge["routes"] if r["matchers"] == [f'{L.TEAM}="payments"'])["routes"]
    ml = next(r for r in sloforge["routes"] if r["matchers"] == [f'{L.TEAM}="ml-platform"'])["routes"]
    timing = [(r["group_interval"], r["repeat_interval"]) for r in payments]
    assert timing == [("2m", "30m"), ("30m", "1d")]
    assert [(r["group_interval"], r["repeat_interval"]) for r in ml] == [("5m", "1h"), ("30m", "12h")]  # defaults
