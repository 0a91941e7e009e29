"""Inhibition invariant: a rule only lets a strictly more severe alert mute a less severe one of the same SLO."""

from __future__ import annotations

import re

import pytest

from generator.model.slo import Model
from generator.pipeline import load_model
from generator.spec import SpecErrors
from generator.targets import labels as L
from generator.targets.alertmanager.alerts import generated_alerts
from generator.targets.alertmanager.config import full_config
from generator.targets.alertmanager.routes import Matcher
from tests.inhibit_specs import write_specs

MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"(.*)"$')


def parse(text: str) -> Matcher:
    found = MATCHER.match(text)
    assert found, text
    label, op, value = found.groups()
    return Matcher(label, op, value.replace('\\"', '"').replace("\\\\", "\\"))


def severity(model: Model, labels: dict[str, str]) -> tuple[int, int, int]:
    """The documented order, restated: page > ticket; faster tier first; SLOSLIMissing last in its class;
    the error-budget freeze notice below every other ticket."""
    slo = next(s for s in model.slos if (s.service, s.name) == (labels[L.SERVICE], labels[L.SLO]))
    notify = {"ticket": 0, "page": 1}[labels[L.NOTIFY]]
    if labels[L.ALERTNAME] == L.MISSING_SLI_ALERT:
        return (notify, 0, 0)
    if labels[L.ALERTNAME] == L.BUDGET_FREEZE_ALERT:
        return (notify, -1, 0)
    tier = next(t for t in slo.tiers if t.name == labels[L.TIER])
    return (notify, 1, -tier.long_window.millis)


def violations(model: Model, rules: list[dict]) -> list[str]:
    alerts = [alert.label_map for alert in generated_alerts(model)]
    found = []
    for rule in rules:
        source = [parse(m) for m in rule.get("source_matchers", [])]
        target = [parse(m) for m in rule.get("target_matchers", [])]
        equal = rule.get("equal", [])
        sources = [a for a in alerts if all(m.matches(a) for m in source)]
        targets = [a for a in alerts if all(m.matches(a) for m in target)]
        if targets and not {L.SERVICE, L.SLO} <= set(equal):
            found.append(f"{rule}: mutes SLO alerts without `equal` on the SLO identity")
        for s in sources:
            for t in targets:
                if s is t or any(s.get(label, "") != t.get(label, "") for label in equal):
                    continue
                if not severity(model, s) > severity(model, t):
                    found.append(f"{rule}: {s[L.SLO]} {s[L.ALERTNAME]} would mute {t[L.SLO]} {t[L.ALERTNAME]}")
    return found


@pytest.fixture
def model(tmp_path) -> Model:
    return load_model(write_specs(tmp_path))


def test_every_inhibit_rule_mutes_only_less_severe_alerts_of_the_same_slo(model, example_model):
    for each in (model, example_model):
        rules = full_config(each)["inhibit_rules"]
        assert violations(each, rules) == []
    # and the order is not vacuous: tickets are muted by pages, slower pages by faster ones
    targets = {m for rule in full_config(model)["inhibit_rules"] for m in rule["target_matchers"]}
    assert any("ticket-fast" in m for m in targets) and any("page-slow" in m for m in targets)


def test_reversing_any_rule_is_caught(model):
    rules = full_config(model)["inhibit_rules"]
    assert rules
    for index, rule in enumerate(rules):
        reversed_rule = {**rule, "source_matchers": rule["target_matchers"], "target_matchers": rule["source_matchers"]}
        mutated = rules[:index] + [reversed_rule] + rules[index + 1 :]
        assert violations(model, mutated), f"reversing {rule} went unnoticed"
    dropped_equal = [{**rule, "equal": []} for rule in rules]
    assert violations(model, dropped_equal)


def test_missing_sli_never_mutes_a_page(model):
    rules = full_config(model)["inhibit_rules"]
    alerts = [alert.label_map for alert in generated_alerts(model)]
    missing = [a for a in alerts if a[L.ALERTNAME] == L.MISSING_SLI_ALERT]
    pages = [a for a in alerts if a[L.NOTIFY] == "page" and a[L.ALERTNAME] != L.MISSING_SLI_ALERT]
    for rule in rules:
        source = [parse(m) for m in rule["source_matchers"]]
        target = [parse(m) for m in rule["target_matchers"]]
        for s in missing:
            for p in pages:
                if s[L.SLO] == p[L.SLO]:
                    assert not (all(m.matches(s) for m in source) and all(m.matches(p) for m in target)), rule


def test_missing_sli_notifies_like_the_slos_most_severe_tier(model):
    missing = {
        a.label_map[L.SLO]: (a.label_map[L.NOTIFY], a.label_map[L.SEVERITY])
        for a in generated_alerts(model)
        if a.label_map[L.ALERTNAME] == L.MISSING_SLI_ALERT
    }
    assert missing == {
        "availability": ("page", "critical"),
        "latency": ("page", "critical"),
        "batch": ("ticket", "warning"),
    }


def test_a_policy_tier_may_not_take_the_missing_sli_tier_name(tmp_path):
    """Its slo_tier would collide with SLOSLIMissing's, and the order (and inhibition) with it."""
    policy = (
        "apiVersion: sloforge/v1\nkind: Policy\ntiers:\n  missing-sli:\n    notify: page\n    severity: critical\n"
        "    long_window: 2h\n    short_window: 10m\n    budget_share: 0.02\n    for: 2m\n"
    )
    specs = write_specs(tmp_path, extra={"policy.yaml": policy})
    with pytest.raises(SpecErrors) as raised:
        load_model(specs)
    assert [str(e) for e in raised.value.errors] == [
        f"{specs / 'policy.yaml'}:4:3: tier name 'missing-sli' is reserved for the alert sloforge adds "
        "when an SLI has no data"
    ]


def test_tickets_only_slos_do_not_scope_the_rules_of_paging_slos(model):
    """api/batch only tickets (its SLOSLIMissing is a ticket); the class in the matchers keeps rules global."""
    scoped = [r for r in full_config(model)["inhibit_rules"] if any(L.SERVICE in m for m in r["source_matchers"])]
    # only the flipped page-fast/page-slow pair of api/availability and api/latency needs a scope
    assert sorted(r["source_matchers"][0] for r in scoped) == [f'{L.TIER}="page-fast"', f'{L.TIER}="page-slow"']


def test_runbooks_tell_on_call_how_slo_sli_missing_notifies(model):
    from generator.targets.runbooks import render_runbooks

    books = render_runbooks(model).files
    rows = {
        path: next(line for line in text.splitlines() if line.startswith(f"| `{L.MISSING_SLI_ALERT}`"))
        for path, text in books.items()
        if path.endswith(("availability.md", "batch.md"))
    }
    assert len(rows) == 2, sorted(books)
    for path, row in rows.items():
        assert ("| critical | page |" if "availability" in path else "| warning | ticket |") in row, row


EQUAL_RANK = """\
apiVersion: sloforge/v1
kind: Service
service: web
team: shop
slos:
  - name: plain
    objective: 99.9
    sli:
      events:
        errors: sum(rate(web_requests_total{code=~"5.."}[{{.window}}]))
        total: sum(rate(web_requests_total[{{.window}}]))
  - name: tied
    objective: 99.9
    alerting:
      page-fast: {long_window: 6h, short_window: 30m, severity: warning}
      page-slow: {severity: critical}
    sli:
      events:
        errors: sum(rate(web_requests_total{code=~"5.."}[{{.window}}]))
        total: sum(rate(web_requests_total[{{.window}}]))
"""


def test_a_pair_one_slo_ranks_equal_is_not_muted_by_another_slos_rule(tmp_path):
    """web/tied's page-fast and page-slow look back 6h both: neither mutes the other, whatever web/plain does."""
    model = load_model(write_specs(tmp_path, service=EQUAL_RANK))  # no SLO here ranks page-slow first
    rules = full_config(model)["inhibit_rules"]
    assert violations(model, rules) == []
    # web/plain's page-fast still mutes its page-slow
    assert not violations(model, rules) and any(
        'slo_tier="page-fast"' in rule["source_matchers"] and any("page-slow" in m for m in rule["target_matchers"])
        for rule in rules
    )
