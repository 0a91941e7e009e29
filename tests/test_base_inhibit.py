"""A hand-written inhibit rule in alertmanager.base.yml must not be able to mute a sloforge page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixture_paths import SPECS

from generator.pipeline import load_model
from generator.spec import SpecErrors
from generator.targets.alertmanager.base_inhibit import parse_matcher

RULES = """\
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="InstanceDown"']
  - source_matchers: ['severity="warning"']
    target_matchers: ['severity="critical"']
  - source_match: {alertname: Watchdog}
    target_match_re: {slo_service: ".+"}
  - source_matchers: [alertname=ClusterDown]
    target_matchers: [slo_notify!=page, 'slo_service=~".+"']
"""


def _specs(tmp_path: Path, rules: str, policy: str = "") -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs, ignore=shutil.ignore_patterns("drafts"))
    base = specs / "alertmanager.base.yml"
    text = base.read_text()
    head, _, _ = text.partition("inhibit_rules:")  # the fixture's own rule is replaced by RULES
    base.write_text(head + rules)
    if policy:
        (specs / "extra-policy.yaml").write_text(policy)
    return specs


def test_rules_whose_targets_include_pages_are_errors_at_their_position(tmp_path: Path) -> None:
    specs = _specs(tmp_path, RULES)
    with pytest.raises(SpecErrors) as raised:
        load_model(specs)
    messages = [str(error) for error in raised.value.errors]
    line = len((specs / "alertmanager.base.yml").read_text().partition("inhibit_rules:")[0].splitlines()) + 1
    # rule 1 (a ticket-severity source over every critical alert) and rule 2 (Watchdog over every SLO alert)
    assert [m.split(": ", 1)[0].rsplit(":", 2)[-2:] for m in messages] == [[str(line + 3), "5"], [str(line + 5), "5"]]
    assert all("can mute sloforge pages" in m and 'slo_notify!="page"' in m for m in messages)


def test_rules_that_exclude_pages_or_other_alerts_are_fine(tmp_path: Path) -> None:
    safe = "\n".join(line for i, line in enumerate(RULES.splitlines()) if i not in (3, 4, 5, 6)) + "\n"
    assert "severity" not in safe and "Watchdog" not in safe
    assert load_model(_specs(tmp_path, safe)).slos


def test_the_policy_can_accept_them_explicitly(tmp_path: Path) -> None:
    policy = "apiVersion: sloforge/v1\nkind: Policy\nsettings:\n  base_inhibit_may_mute_pages: true\n"
    assert load_model(_specs(tmp_path, RULES, policy)).settings.base_inhibit_may_mute_pages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('severity="critical"', ("severity", "=", "critical")),
        ("slo_notify!=page", ("slo_notify", "!=", "page")),
        ('{alertname=~"Slo.*"}', ("alertname", "=~", "Slo.*")),
        ('a="say \\"hi\\""', ("a", "=", 'say "hi"')),
    ],
)
def test_matchers_in_every_spelling_alertmanager_takes(text: str, expected: tuple[str, str, str]) -> None:
    matcher = parse_matcher(text)
    assert matcher is not None and (matcher.label, matcher.op, matcher.value) == expected
