"""Tier resolution: defaults, a global Policy document, per-SLO overrides, the CLI."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from generator.pipeline import load_model
from generator.spec import SpecErrors

TEAMS = "apiVersion: sloforge/v1\nkind: Teams\nteams:\n  t:\n    page: {webhook: {url: 'http://127.0.0.1:9/hook'}}\n"
SERVICE = textwrap.dedent(
    """\
    apiVersion: sloforge/v1
    kind: Service
    service: s
    team: t
    slos:
      - name: a
        objective: 99.9
        window: {window}
        sli: {{raw: {{error_ratio: 'avg_over_time(err_ratio[{{{{.window}}}}])'}}}}
        alerting: {alerting}
    """
)


def model(tmp_path: Path, *, window: str = "30d", alerting: str = "{}", policy: str = "", extra_policy: str = ""):
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "teams.yaml").write_text(TEAMS)
    (specs / "s.yaml").write_text(SERVICE.format(window=window, alerting=alerting))
    if policy:
        (specs / "policy.yaml").write_text("apiVersion: sloforge/v1\nkind: Policy\n" + policy)
    policy_file = None
    if extra_policy:
        policy_file = tmp_path / "cli-policy.yaml"
        policy_file.write_text("apiVersion: sloforge/v1\nkind: Policy\n" + extra_policy)
    return load_model(specs, policy_file)


def tiers(m) -> dict[str, object]:
    return {tier.name: tier for tier in m.slos[0].tiers}


def test_defaults(tmp_path):
    resolved = tiers(model(tmp_path))
    assert list(resolved) == ["page-fast", "page-slow", "ticket-fast", "ticket-slow"]
    assert resolved["page-fast"].factor == Decimal("14.4")
    assert resolved["ticket-slow"].severity == "warning"


def test_per_slo_override_and_disable_by_class(tmp_path):
    resolved = tiers(model(tmp_path, alerting="{ticket: {enabled: false}, page-fast: {for: 1m, budget_share: 0.01}}"))
    assert list(resolved) == ["page-fast", "page-slow"]
    assert resolved["page-fast"].for_.text == "1m"
    assert resolved["page-fast"].factor == Decimal("7.2")


def test_global_policy_changes_adds_and_drops_tiers(tmp_path):
    policy = textwrap.dedent(
        """\
        tiers:
          page-slow: {severity: high}
          ticket-slow: null
          page-urgent: {notify: page, severity: critical, long_window: 15m, short_window: 1m, budget_share: 0.005, for: 1m}
        settings: {runbook_base_url: 'https://example.com/rb/'}
        """
    )
    m = model(tmp_path, policy=policy)
    resolved = tiers(m)
    assert list(resolved) == ["page-fast", "page-slow", "ticket-fast", "page-urgent"]
    assert resolved["page-slow"].severity == "high"
    assert resolved["page-urgent"].factor == Decimal("14.4")  # 0.005 * 30d / 15m
    assert m.settings.runbook_base_url == "https://example.com/rb/"


def test_policy_from_the_command_line(tmp_path):
    m = model(tmp_path, extra_policy="tiers: {page-fast: {long_window: 2h}}\n")
    assert tiers(m)["page-fast"].factor == Decimal("7.2")


def test_incomplete_new_tier_is_an_error(tmp_path):
    with pytest.raises(SpecErrors, match=r"policy.yaml:4:3: new tier 'page-urgent' needs long_window, short_window"):
        model(tmp_path, policy="tiers:\n  page-urgent: {notify: page, severity: critical}\n")


def test_7d_window_scales_factors(tmp_path):
    resolved = tiers(model(tmp_path, window="7d"))
    assert resolved["page-fast"].factor == Decimal("3.36")
    assert resolved["ticket-slow"].long_window.text == "3d"
