"""Secrets never land in rendered files: literal secrets, credential URLs, secret file paths.

Every spec set here is built in tmp_path; none depends on slo_specs/.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.output import read_tree

SERVICE = """\
apiVersion: sloforge/v1
kind: Service
service: checkout
team: payments
description: Checkout HTTP API
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
"""
SECRETS_DIR = "/etc/alertmanager/secrets"
TEAMS = f"""\
apiVersion: sloforge/v1
kind: Teams
teams:
  payments:
    page:
      pagerduty: {{routing_key_file: {SECRETS_DIR}/payments-pagerduty}}
    ticket:
      slack: {{channel: "#payments", api_url_file: {SECRETS_DIR}/payments-slack}}
"""
BASE = f"""\
global:
  resolve_timeout: 5m
  smtp_auth_password_file: {SECRETS_DIR}/smtp-password
route:
  receiver: ops
receivers:
  - name: ops
    pagerduty_configs:
      - routing_key_file: {SECRETS_DIR}/ops-pagerduty
"""


def write_specs(tmp_path: Path, teams: str = TEAMS, base: str | None = BASE, policy: str = "") -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "checkout.yaml").write_text(SERVICE)
    (specs / "teams.yaml").write_text(teams)
    if base is not None:
        (specs / "alertmanager.base.yml").write_text(base)
    if policy:
        (specs / "policy.yaml").write_text("apiVersion: sloforge/v1\nkind: Policy\n" + policy)
    return specs


def render(specs: Path, out: Path):
    return CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)], catch_exceptions=False)


def refused(specs: Path, tmp_path: Path, secret: str) -> str:
    """Render must fail with exit 2, write nothing, and never print the secret."""
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert secret not in result.output
    assert not out.exists()
    return result.output


# --- the base config: every secret field at any depth ----------------------------------------

BASE_SECRETS = [
    # (yaml placed under `receivers[0]` or at the top, the secret text, expected file:line:col + field)
    ("global:\n  smtp_auth_password: Hunter2Secret\n", "Hunter2Secret", "2:3: 'smtp_auth_password'"),
    (
        "global:\n  slack_api_url: https://hooks.slack.com/services/T0/B0/SlackSecret\n",
        "SlackSecret",
        "2:3: 'slack_api_url'",
    ),
    ("global:\n  opsgenie_api_key: OgSecret\n", "OgSecret", "2:3: 'opsgenie_api_key'"),
    ("global:\n  wechat_api_secret: WcSecret\n", "WcSecret", "2:3: 'wechat_api_secret'"),
    ("global:\n  http_config:\n    basic_auth: {username: u, password: BaSecret}\n", "BaSecret", "3:31: 'password'"),
    ("global:\n  http_config:\n    authorization: {credentials: AuSecret}\n", "AuSecret", "3:21: 'credentials'"),
    ("global:\n  http_config:\n    bearer_token: BtSecret\n", "BtSecret", "3:5: 'bearer_token'"),
    (
        "global:\n  http_config:\n    oauth2: {client_id: c, client_secret: O2Secret, token_url: 'https://t.example.com'}\n",
        "O2Secret",
        "3:28: 'client_secret'",
    ),
    (
        "global:\n  http_config:\n    proxy_url: http://bob:PxSecret@proxy.example.com:3128\n",
        "PxSecret",
        "3:16: 'proxy_url' holds credentials in the URL",
    ),
    (
        "global:\n  http_config:\n    proxy_connect_header: {Proxy-Authorization: [PhSecret]}\n",
        "PhSecret",
        "3:5: 'proxy_connect_header'",
    ),
    ("global:\n  http_config:\n    tls_config: {key: TlsSecret}\n", "TlsSecret", "3:18: 'key'"),
    ("  pagerduty_configs:\n    - routing_key: PdSecret\n", "PdSecret", "'routing_key'"),
    ("  pagerduty_configs:\n    - service_key: 1234567\n", "1234567", "'service_key'"),  # a number
    ("  telegram_configs:\n    - bot_token: 987654321\n      chat_id: 42\n", "987654321", "'bot_token'"),
    (
        "  pushover_configs:\n    - user_key: PoUser\n      token_file: /etc/alertmanager/secrets/t\n",
        "PoUser",
        "'user_key'",
    ),
    ("  victorops_configs:\n    - api_key: VoSecret\n      routing_key: team-a\n", "VoSecret", "'api_key'"),
    ("  webhook_configs:\n    - url: https://hooks.example.com/plain\n", "hooks.example.com/plain", "'url'"),
    (
        "  discord_configs:\n    - webhook_url: https://discord.com/api/webhooks/1/DcSecret\n",
        "DcSecret",
        "'webhook_url'",
    ),
    ("  msteams_configs:\n    - webhook_url: https://x.webhook.office.com/MtSecret\n", "MtSecret", "'webhook_url'"),
    ("  email_configs:\n    - to: a@example.com\n      auth_password: EmSecret\n", "EmSecret", "'auth_password'"),
    (
        "  sns_configs:\n    - topic_arn: arn:aws:sns:x\n      sigv4: {access_key: AK, secret_key: SvSecret}\n",
        "SvSecret",
        "'secret_key'",
    ),
    (
        "  webex_configs:\n    - room_id: r\n      http_config:\n        authorization: {credentials: WxSecret}\n",
        "WxSecret",
        "'credentials'",
    ),
    (
        "  slack_configs:\n    - channel: '#c'\n      http_config:\n        http_headers: {X-Auth: {secrets: [HhSecret]}}\n",
        "HhSecret",
        "'secrets'",
    ),
    (
        "  webhook_configs:\n    - url_file: /etc/alertmanager/secrets/w\n      http_config:\n        proxy_url: http://p.example.com/?access_token=QpSecret\n",
        "QpSecret",
        "query parameter 'access_token'",
    ),
]


@pytest.mark.parametrize(("snippet", "secret", "expected"), BASE_SECRETS, ids=[s[1] for s in BASE_SECRETS])
def test_literal_secret_in_the_base_config_is_an_error_at_its_line(tmp_path, snippet, secret, expected):
    if snippet.startswith("global:"):
        base = snippet + "route: {receiver: ops}\nreceivers:\n  - name: ops\n"
    else:
        base = "route: {receiver: ops}\nreceivers:\n- name: ops\n" + snippet
    output = refused(write_specs(tmp_path, base=base), tmp_path, secret)
    assert re.search(r"alertmanager\.base\.yml:\d+:\d+: ", output), output
    line_col_field = expected if expected[0].isdigit() else None
    if line_col_field:
        assert f"alertmanager.base.yml:{expected}" in output, output
    else:
        assert expected in output, output


def test_file_forms_and_harmless_namesakes_are_accepted(tmp_path):
    base = textwrap.dedent(
        f"""\
        route: {{receiver: ops}}
        receivers:
          - name: ops
            victorops_configs:
              - api_key_file: {SECRETS_DIR}/vo
                routing_key: team-a            # victorops' routing key names a route, not a secret
            webhook_configs:
              - url_file: {SECRETS_DIR}/hook
                http_config:
                  basic_auth: {{username: am, password_file: {SECRETS_DIR}/basic}}
                  tls_config: {{key_file: {SECRETS_DIR}/tls.key}}
            telegram_configs:
              - bot_token_file: {SECRETS_DIR}/tg
                chat_id: 12345                 # not a secret
        """
    )
    out = tmp_path / "out"
    result = render(write_specs(tmp_path, base=base), out)
    assert result.exit_code == 0, result.output
    assert "routing_key: team-a" in (out / "alertmanager" / "alertmanager.yml").read_text()


# --- Teams: credential URLs and secret file paths ---------------------------------------------


@pytest.mark.parametrize(
    ("receiver", "secret", "message"),
    [
        ('webhook: {url: "https://bob:WhPass@chat.example.com/hook"}', "WhPass", "credentials in the URL"),
        ('webhook: {url: "https://chat.example.com/hook?token=WhTok"}', "WhTok", "query parameter 'token'"),
        ('webhook: {url: "https://chat.example.com/h?a=1&X-Amz-Signature=SigVal"}', "SigVal", "'X-Amz-Signature'"),
        ('webhook: {url: "https://hooks.slack.com/services/T1/B1/SlackPath"}', "SlackPath", "Slack webhook URL"),
        ('webhook: {url: "https://chat.example.com/cb#access_token=FragTok"}', "FragTok", "'access_token'"),
        ('webhook: {url: "https://chat.example.com/h?%74oken=EncTok"}', "EncTok", "query parameter 'token'"),
        ('webhook: {url: "https://discord.com/api/webhooks/1/DiscPath"}', "DiscPath", "Discord webhook URL"),
        (
            'pagerduty: {routing_key_file: /etc/alertmanager/secrets/p, url: "https://events.pagerduty.com/integration/PdPath/enqueue"}',
            "PdPath",
            "PagerDuty integration URL",
        ),
        (
            'opsgenie: {api_key_file: /etc/alertmanager/secrets/o, api_url: "https://api.opsgenie.com/?apikey=OgKey"}',
            "OgKey",
            "query parameter 'apikey'",
        ),
    ],
)
def test_credentials_in_team_urls_are_errors_that_hide_the_value(tmp_path, receiver, secret, message):
    teams = TEAMS + f"    info:\n      {receiver}\n"
    output = refused(write_specs(tmp_path, teams=teams), tmp_path, secret)
    assert "teams.yaml:10:" in output and message in output, output


def test_webhook_url_advice_names_url_file(tmp_path):
    teams = TEAMS + '    info:\n      webhook: {url: "https://chat.example.com/hook?key=K1"}\n'
    output = refused(write_specs(tmp_path, teams=teams), tmp_path, "K1")
    assert "reference it with 'url_file'" in output


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc/alertmanager/secrets/../shadow", "`..` is not allowed"),
        ("/etc/alertmanager/secrets-other/pd", "outside the secrets directory"),
        ("/etc/alertmanager/secretsx", "outside the secrets directory"),
        ("/var/run/other-team/pd", "outside the secrets directory"),
        ("relative/pd", "expected an absolute path"),
        ("/etc/alertmanager/secrets//pd", "normal form"),
        ("/etc/alertmanager/secrets", "outside the secrets directory"),
    ],
)
def test_secret_files_must_be_inside_the_secrets_dir(tmp_path, path, message):
    teams = TEAMS.replace(f"{SECRETS_DIR}/payments-pagerduty", path)
    out = tmp_path / "out"
    result = render(write_specs(tmp_path, teams=teams), out)
    assert result.exit_code == 2, result.output
    assert "teams.yaml:6:" in result.output and message in result.output, result.output
    assert not out.exists()


def test_http_config_credentials_file_is_checked_too(tmp_path):
    teams = TEAMS + (
        "    info:\n      webhook: {url: https://chat.example.com/hook, "
        "http_config: {authorization: {credentials_file: /root/.ssh/id_rsa}}}\n"
    )
    out = tmp_path / "out"
    result = render(write_specs(tmp_path, teams=teams), out)
    assert result.exit_code == 2 and "teams.yaml:10:" in result.output and "'credentials_file'" in result.output


def test_a_configured_secrets_dir_with_a_team_placeholder_separates_teams(tmp_path):
    teams = TEAMS.replace(SECRETS_DIR, "/srv/secrets/payments") + (
        "  search:\n    page:\n      pagerduty: {routing_key_file: /srv/secrets/payments/search-pd}\n"
    )
    policy = "settings: {secrets_dir: '/srv/secrets/{team}'}\n"
    out = tmp_path / "out"
    result = render(write_specs(tmp_path, teams=teams, base=None, policy=policy), out)
    assert result.exit_code == 2, result.output
    assert "teams.yaml:11:" in result.output and "/srv/secrets/search" in result.output
    fixed = teams.replace("/srv/secrets/payments/search-pd", "/srv/secrets/search/pd")
    result = render(write_specs(tmp_path, teams=fixed, base=None, policy=policy), out)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("relative", "expected an absolute directory"),
        ("/", "expected an absolute directory"),
        ("/etc/../x", "normal form"),
        ("/etc/{service}", "the only placeholder allowed is {team}"),
        ("/etc/x{team}", "must be a whole path component"),
    ],
)
def test_bad_secrets_dir_setting_is_an_error(tmp_path, value, message):
    result = render(write_specs(tmp_path, policy=f"settings: {{secrets_dir: '{value}'}}\n"), tmp_path / "out")
    assert result.exit_code == 2 and "policy.yaml:3:" in result.output and message in result.output, result.output


def test_two_teams_sharing_a_secret_file_are_warned_about(tmp_path):
    teams = TEAMS + (
        f"  search:\n    ticket:\n      slack: {{channel: '#search', api_url_file: {SECRETS_DIR}/payments-slack}}\n"
    )
    out = tmp_path / "out"
    result = render(write_specs(tmp_path, teams=teams), out)
    assert result.exit_code == 0, result.output
    assert re.search(
        r"warning .*teams payments, search all read the secret file /etc/alertmanager/secrets/payments-slack",
        result.output,
    )
    alone = render(write_specs(tmp_path), tmp_path / "alone")
    assert "secret file" not in alone.output


# --- nothing a secret file holds reaches rendered/ or the logs --------------------------------


def test_secret_file_contents_never_appear_in_rendered_output_or_logs(tmp_path):
    """Receivers reference real files; their contents must appear nowhere in the tree or the output."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    contents = {
        "payments-pagerduty": "pd-routing-0f3c9e1d2b7a",
        "payments-slack": "https://hooks.slack.com/services/TSECRET/BSECRET/slackpathsecret",
        "smtp-password": "smtp-hunter2-7c1e",
        "ops-pagerduty": "ops-routing-a91b",
    }
    for name, text in contents.items():
        (folder / name).write_text(text + "\n")
    teams = TEAMS.replace(SECRETS_DIR, str(folder))
    base = BASE.replace(SECRETS_DIR, str(folder))
    specs = write_specs(tmp_path, teams=teams, base=base, policy=f"settings: {{secrets_dir: {folder}}}\n")
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 0, result.output
    tree = read_tree(out)
    assert any(f"{folder}/payments-pagerduty" in text for text in tree.values())  # referenced by path ...
    for name, secret in contents.items():
        for path, text in tree.items():
            assert secret not in text, f"the content of {name} leaked into {path}"
        assert secret not in result.output
    check = CliRunner().invoke(main, ["check", "--specs", str(specs), "--out", str(out)])
    assert check.exit_code == 0 and not any(secret in check.output for secret in contents.values())


def test_credentials_in_any_spec_url_are_errors(tmp_path):
    """Base URLs and descriptions are copied into every alert: they may not carry credentials either."""
    policy = "settings: {runbook_base_url: 'https://ci:GitTok@git.example.com/slos/blob/main/rendered'}\n"
    specs = write_specs(tmp_path, policy=policy)
    (specs / "checkout.yaml").write_text(
        SERVICE.replace("Checkout HTTP API", "Checkout API, see https://wiki.example.com/x?access_token=WikiTok")
    )
    output = refused(specs, tmp_path, "GitTok")
    assert "WikiTok" not in output
    assert "policy.yaml:3:" in output and "'runbook_base_url' holds credentials in the URL" in output, output
    assert "checkout.yaml:5:" in output and "'description' holds a credential in the query parameter" in output


def test_credentials_in_a_command_line_base_url_are_an_error(tmp_path):
    out = tmp_path / "out"
    args = ["render", "--specs", str(write_specs(tmp_path)), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--dashboard-base-url", "https://grafana.example.com/?token=GfTok"])
    assert result.exit_code == 2 and "--dashboard-base-url holds a credential" in result.output, result.output
    assert "GfTok" not in result.output and not out.exists()
