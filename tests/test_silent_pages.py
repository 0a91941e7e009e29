"""A team whose pages would notify nobody is an error at the team (exit 2), unless the Policy accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.pipeline import load_model
from generator.spec import SpecErrors
from generator.targets.alertmanager import consistency_warnings
from tests.inhibit_specs import TEAMS, write_specs

NO_PAGE = TEAMS.replace("    page:\n      pagerduty: {routing_key_file: /etc/alertmanager/secrets/shop-pd}\n", "")
TEAM_LINE = NO_PAGE.splitlines().index("  shop:") + 1
BASE = """\
route:
  receiver: {root}
receivers:
  - name: blackhole
  - name: ops-mail
    email_configs:
      - to: ops@example.com
"""


def policy(allow: str) -> str:
    return f"apiVersion: sloforge/v1\nkind: Policy\nsettings:\n  allow_silent_pages: {allow}\n"


def render(specs: Path, out: Path):
    return CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)])


@pytest.mark.parametrize("base", [None, "blackhole"], ids=["sloforge-default", "base-root-without-integrations"])
def test_pages_that_reach_a_receiver_without_integrations_are_an_error(tmp_path, base):
    extra = {"alertmanager.base.yml": BASE.format(root=base)} if base else {}
    specs = write_specs(tmp_path, teams=NO_PAGE, extra=extra)
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 2, result.output
    receiver = base or "sloforge-default"
    assert f"teams.yaml:{TEAM_LINE}:3: team 'shop': pages (e.g. api/availability " in result.output
    assert f"reach only '{receiver}', which has no integrations" in result.output
    assert "allow_silent_pages: [shop]" in result.output
    assert not out.exists()


def test_pages_that_reach_a_root_receiver_with_an_integration_are_only_warned(tmp_path):
    specs = write_specs(tmp_path, teams=NO_PAGE, extra={"alertmanager.base.yml": BASE.format(root="ops-mail")})
    warnings = consistency_warnings(load_model(specs))
    assert any("reaches only the default receiver 'ops-mail'" in w for w in warnings), warnings


@pytest.mark.parametrize("allow", ["[shop]", "true"])
def test_the_policy_can_accept_silent_pages_explicitly(tmp_path, allow):
    specs = write_specs(tmp_path, teams=NO_PAGE, extra={"policy.yaml": policy(allow)})
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 0, result.output
    assert "which has no integrations (accepted by the Policy's allow_silent_pages)" in result.output
    assert (out / "alertmanager" / "alertmanager.yml").is_file()


def test_accepting_another_team_does_not_accept_this_one(tmp_path):
    teams = NO_PAGE + "  other:\n    ticket:\n      email: {to: other@example.com}\n"
    specs = write_specs(tmp_path, teams=teams, extra={"policy.yaml": policy("[other]")})
    with pytest.raises(SpecErrors, match="team 'shop': pages"):
        load_model(specs)


def test_an_unknown_team_in_allow_silent_pages_is_an_error_at_its_item(tmp_path):
    specs = write_specs(tmp_path, extra={"policy.yaml": policy("[shopp]")})
    with pytest.raises(SpecErrors) as raised:
        load_model(specs)
    assert [str(e) for e in raised.value.errors] == [
        f"{specs / 'policy.yaml'}:4:24: team 'shopp' is not defined in any Teams document (did you mean 'shop'?)"
    ]
