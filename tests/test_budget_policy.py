"""Error-budget policy: stages in the spec, recorded stage and freeze alert, `sloforge budget` against a real Prometheus."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.model.budget_policy import DEFAULT_STAGES, stage_index
from generator.tools import servers

TEAMS = """\
apiVersion: sloforge/v1
kind: Teams
teams:
  shop:
    page:
      pagerduty: {routing_key_file: /etc/alertmanager/secrets/shop-pagerduty}
    ticket:
      pagerduty: {routing_key_file: /etc/alertmanager/secrets/shop-pagerduty}
"""

# Error ratio per SLO, with a 99% objective (budget 1%): remaining = 1 - ratio / 0.01.
RATIOS = {"healthy": "0.002", "warning": "0.006", "critical": "0.008", "emergency": "0.02"}


def _service(name: str, slos: dict[str, str]) -> str:
    entries = "".join(
        f"""  - name: {slo}
    objective: 99
    window: 30d
    sli:
      events:
        errors: sum(rate(req_total{{slo="{slo}",code="500"}}[{{{{.window}}}}]))
        total: sum(rate(req_total{{slo="{slo}"}}[{{{{.window}}}}]))
"""
        for slo in slos
    )
    return f"apiVersion: sloforge/v1\nkind: Service\nservice: {name}\nteam: shop\nslos:\n{entries}"


def _specs(root: Path, policy: str | None = None) -> Path:
    specs = root / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(TEAMS)
    (specs / "shop.yaml").write_text(_service("shop", RATIOS))
    (specs / "calm.yaml").write_text(_service("calm", {"quiet": "0.001"}))
    if policy is not None:
        (specs / "policy.yaml").write_text(policy)
    return specs


def _render(specs: Path, out: Path) -> subprocess.CompletedProcess | object:
    return CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)])


# --- the model -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "stage"),
    [
        ("1", "healthy"),
        ("0.5000001", "healthy"),
        ("0.5", "warning"),  # a boundary belongs to the stage below
        ("0.3", "critical"),
        ("0.1", "emergency"),
        ("-2", "emergency"),  # an exhausted budget is the last stage
    ],
)
def test_the_stage_holds_strictly_above_its_minimum(remaining: str, stage: str) -> None:
    assert DEFAULT_STAGES[stage_index(DEFAULT_STAGES, Decimal(remaining))].name == stage


# --- the spec ----------------------------------------------------------------------------------------


BAD_POLICY = """\
apiVersion: sloforge/v1
kind: Policy
budget_policy:
  stages:
    - {name: fine, min_remaining: 40, action: ok, review: 1w}
    - {name: fine, min_remaining: 60, action: "{{ with query \\"up\\" }}x{{ end }}", review: 1d, freeze: true}
    - {name: worse, action: stop, review: 1d, freeze: false}
  services:
    nosuch:
      - {name: only, action: ok, review: 1w}
"""


def test_bad_budget_policies_are_reported_together_with_positions(tmp_path: Path) -> None:
    specs = _specs(tmp_path, BAD_POLICY)
    out = tmp_path / "out"
    result = _render(specs, out)
    assert result.exit_code == 2, result.output
    expected = [
        "policy.yaml:6:14: stage name 'fine' is already used by stage 0",
        "policy.yaml:6:35: stages go from most to least budget remaining: 60 must be below 40",
        "policy.yaml:6:47: action is one line of plain text",
        "policy.yaml:6:104: stage 'fine' freezes, so every stage below it (less budget) must freeze too",
        "policy.yaml:9:5: no Service named 'nosuch'",
    ]
    for text in expected:
        assert text in result.output, (text, result.output)
    assert not out.exists()


def test_a_service_override_replaces_the_stages_of_that_service_only(tmp_path: Path) -> None:
    policy = """\
apiVersion: sloforge/v1
kind: Policy
budget_policy:
  services:
    calm:
      - {name: ok, min_remaining: 25, action: ship, review: 1w}
      - {name: frozen, action: no deploys, review: 1d, freeze: true}
"""
    out = tmp_path / "out"
    assert _render(_specs(tmp_path, policy), out).exit_code == 0
    calm = (out / "prometheus/rules/calm.yaml").read_text()
    shop = (out / "prometheus/rules/shop.yaml").read_text()
    assert "slo_budget_stage: frozen" in calm and "slo_budget_stage: emergency" not in calm
    assert "> 0.25) * 0 + 0" in calm
    assert "slo_budget_stage: emergency" in shop


# --- rendered rules and their promtool tests ----------------------------------------------------------


def test_generated_stage_tests_pass_and_catch_a_shifted_boundary(tmp_path: Path, promtool: str) -> None:
    out = tmp_path / "out"
    assert _render(_specs(tmp_path), out).exit_code == 0
    test_file = out / "prometheus/tests/shop.budget.test.yaml"
    done = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rules = out / "prometheus/rules/shop.yaml"
    # Mutation: the warning stage's boundary moves from "> 0.3" to ">= 0.3".
    text = rules.read_text()
    assert text.count("> 0.3) * 0 + 1") == len(RATIOS)
    rules.write_text(text.replace("> 0.3) * 0 + 1", ">= 0.3) * 0 + 1"))
    mutated = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120)
    assert mutated.returncode != 0
    assert "slo:error_budget_stage:index" in mutated.stdout + mutated.stderr


def test_the_freeze_alert_is_a_routed_ticket(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _render(_specs(tmp_path), out).exit_code == 0
    routing = (out / "alertmanager/routing-tests.yaml").read_text()
    assert "SLOErrorBudgetFreeze" in routing


# --- `sloforge budget` against a real Prometheus --------------------------------------------------------


class _Counters(http.server.BaseHTTPRequestHandler):
    """req_total per SLO and code, growing at a fixed rate from the server's start."""

    started = time.monotonic()
    ratios: dict[str, Decimal] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        elapsed = Decimal(str(round(time.monotonic() - self.started, 3)))
        lines = ["# TYPE req_total counter"]
        for slo, ratio in self.ratios.items():
            total = 1000 * elapsed  # 1000 requests/s
            lines.append(f'req_total{{slo="{slo}",code="500"}} {total * ratio}')
            lines.append(f'req_total{{slo="{slo}",code="200"}} {total * (1 - ratio)}')
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def live_prometheus(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("budget-live")
    out = root / "out"
    assert _render(_specs(root), out).exit_code == 0
    rules = root / "rules"
    rules.mkdir()
    for path in (out / "prometheus/rules").glob("*.yaml"):
        # the same rules, evaluated every second, freeze alerts without their 10m `for` (the report lists them)
        text = path.read_text().replace("interval: 1m", "interval: 1s").replace("for: 10m", "for: 1s")
        (rules / path.name).write_text(text)
    _Counters.ratios = {slo: Decimal(ratio) for slo, ratio in {**RATIOS, "quiet": "0.001"}.items()}
    exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counters)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    port = servers.free_port()
    (root / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}/*.yaml']\n"
        f"scrape_configs: [{{job_name: app, static_configs: [{{targets: ['127.0.0.1:{exporter.server_address[1]}']}}]}}]\n"
    )
    process = servers.start(
        "prometheus",
        [
            servers.find_binary("prometheus"),
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        root / "prometheus.log",
        f"http://127.0.0.1:{port}",
    )
    try:
        servers.wait_ready(process)
        _wait_for_stages(process.url, expected=len(RATIOS) + 1)
        yield process.url
    finally:
        servers.stop(process)
        exporter.shutdown()


def _wait_for_stages(url: str, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = CliRunner().invoke(main, ["budget", "--prometheus", url, "--format", "json"])
        if result.exit_code == 0 and len(json.loads(result.stdout)) == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"no budget data after {timeout}s: {result.output}")


def _budget(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["budget", *args], env=env)


def test_budget_reports_every_slo_with_exact_remaining_budget_and_stage(live_prometheus: str) -> None:
    result = _budget("--prometheus", live_prometheus, "--format", "json", "--service", "shop")
    assert result.exit_code == 0, result.output
    rows = {row["slo"]: row for row in json.loads(result.stdout)}
    assert sorted(rows) == sorted(RATIOS)
    for slo, ratio in RATIOS.items():
        exact = 1 - float(Decimal(ratio) / Decimal("0.01"))
        assert rows[slo]["budget_remaining"] == pytest.approx(exact, rel=1e-6), slo
        assert rows[slo]["stage"] == slo  # each SLO is named after the stage its ratio puts it in
        assert rows[slo]["freeze"] is (slo in ("critical", "emergency"))
        assert rows[slo]["objective"] == "99" and rows[slo]["window"] == "30d"
    assert rows["critical"]["action"] == "partial freeze: critical fixes only"


def test_budget_markdown_and_table_name_every_slo(live_prometheus: str) -> None:
    markdown = _budget("--prometheus", live_prometheus, "--format", "markdown")
    assert markdown.exit_code == 0
    assert "| shop | emergency | 99% | 30d | -100.0% |" in markdown.stdout
    table = _budget("--prometheus", live_prometheus)
    assert table.exit_code == 0 and "quiet" in table.stdout and "freeze" in table.stdout


def test_gate_closes_on_a_freezing_stage_and_opens_otherwise(live_prometheus: str) -> None:
    closed = _budget("--prometheus", live_prometheus, "--service", "shop", "--gate")
    assert closed.exit_code == 3
    assert "shop/critical (critical)" in closed.stderr and "shop/emergency (emergency)" in closed.stderr
    opened = _budget("--prometheus", live_prometheus, "--service", "calm", "--gate")
    assert opened.exit_code == 0, opened.output


def test_gate_never_passes_silently_without_data(live_prometheus: str) -> None:
    unknown = _budget("--prometheus", live_prometheus, "--service", "nosuch", "--gate")
    assert unknown.exit_code == 1 and "nosuch" in unknown.stderr
    unreachable = _budget("--prometheus", f"http://127.0.0.1:{servers.free_port()}", "--gate", "--timeout", "2")
    assert unreachable.exit_code == 1 and "cannot reach" in unreachable.stderr


def test_not_a_prometheus_is_an_error_not_a_pass(tmp_path: Path) -> None:
    class NotPrometheus(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>login</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotPrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = _budget("--prometheus", f"http://127.0.0.1:{server.server_address[1]}", "--gate")
    finally:
        server.shutdown()
    assert result.exit_code == 1 and "did not answer with JSON" in result.stderr


def test_credentials_are_sent_but_never_printed(tmp_path: Path) -> None:
    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        token = _budget("--prometheus", url, env={"SLOFORGE_PROMETHEUS_TOKEN": "tok-s3cret"})
        secret_file = tmp_path / "password"
        secret_file.write_text("pw-s3cret\n")
        basic = _budget("--prometheus", url, "--user", "ci", "--password-file", str(secret_file))
    finally:
        server.shutdown()
    assert seen[0] == "Bearer tok-s3cret"
    assert seen[1].startswith("Basic ") and seen[1] != "Basic "
    for result in (token, basic):
        assert result.exit_code == 1 and "HTTP 401" in result.stderr
        assert "s3cret" not in result.output


@pytest.mark.parametrize(
    "url",
    [
        "localhost:9090",
        "http://user:pw@localhost:9090",
        "ftp://localhost",
        "http://localhost:9090/?q=1",
        "http://127.0.0.1:99999",
    ],
)
def test_unusable_urls_are_usage_errors(url: str) -> None:
    result = _budget("--prometheus", url)
    assert result.exit_code == 2
    assert "pw" not in result.output.replace("--password-file", "")


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool not installed")
    return found


# --- `sloforge report` ------------------------------------------------------------------------------------


def _wait_for_freeze_alerts(url: str, timeout: float = 60) -> None:
    from generator.live.prometheus_api import Connection, query

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(query(Connection(url), 'ALERTS{alertname="SLOErrorBudgetFreeze",alertstate="firing"}')) >= 2:
            return
        time.sleep(0.5)
    raise AssertionError("freeze alerts did not fire")


def test_report_html_shows_every_slo_its_stage_time_and_the_alerts_that_fired(
    live_prometheus: str, tmp_path: Path
) -> None:
    _wait_for_freeze_alerts(live_prometheus)
    out = tmp_path / "review.html"
    result = CliRunner().invoke(main, ["report", "--prometheus", live_prometheus, "--out", str(out), "--period", "1h"])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!-- sloforge error-budget report -->")
    assert page.count("<svg") == len(RATIOS) + 1  # one burn-down chart per SLO
    for slo in RATIOS:
        assert f'id="shop-{slo}"' in page
    section = page[page.index('id="shop-critical"') : page.index('id="shop-emergency"')]
    assert "SLOErrorBudgetFreeze" in section and "still firing" in section
    assert '<span class="badge freeze">critical</span>' in section
    assert "-100.0%" in page  # the emergency SLO's exact budget left, formatted
    healthy = page[page.index('id="shop-healthy"') : page.index('id="shop-warning"')]
    assert "No SLO alert fired" in healthy
    assert "Change freeze: shop/critical (critical), shop/emergency (emergency)" in page


def test_report_looks_right_in_a_browser(live_prometheus: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium not installed (make tools installs it as root on Debian)")
    out = tmp_path / "review.html"
    assert (
        CliRunner()
        .invoke(main, ["report", "--prometheus", live_prometheus, "--out", str(out), "--period", "1h"])
        .exit_code
        == 0
    )
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "review.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", out.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000  # a rendered page, not a blank one
    dom = subprocess.run([browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Error-budget review" in dom.stdout and "shop / emergency" in dom.stdout


def test_report_markdown_is_self_contained(live_prometheus: str, tmp_path: Path) -> None:
    out = tmp_path / "review.md"
    result = CliRunner().invoke(
        main, ["report", "--prometheus", live_prometheus, "--out", str(out), "--period", "1h", "--service", "calm"]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "](data:image/svg+xml;base64," in text
    assert "| calm | quiet | 99% | 30d | 90.0% |" in text
    assert "shop" not in text


def test_report_never_overwrites_a_file_it_did_not_write(live_prometheus: str, tmp_path: Path) -> None:
    precious = tmp_path / "notes.md"
    precious.write_text("my notes\n")
    args = ["report", "--prometheus", live_prometheus, "--period", "1h"]
    refused = CliRunner().invoke(main, [*args, "--out", str(precious)])
    assert refused.exit_code == 2 and precious.read_text() == "my notes\n"
    report = tmp_path / "r.md"
    assert CliRunner().invoke(main, [*args, "--out", str(report)]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--out", str(report)]).exit_code == 0  # an earlier report is replaced
    assert not list(tmp_path.glob(".*sloforge-tmp"))


@pytest.mark.parametrize(
    ("extra", "message"), [(["--out", "x.pdf"], ".html or .md"), (["--out", "x.md", "--period", "5m"], "1h to 90d")]
)
def test_report_usage_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["report", "--prometheus", "http://127.0.0.1:1", *extra])
    assert result.exit_code == 2 and message in result.output


def test_a_server_sending_nan_or_garbage_values_is_no_data_not_a_traceback(tmp_path: Path) -> None:
    """Found by trying it as an attacker would: a NaN stage index crashed `int(float('NaN'))`."""

    class Hostile(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            form = self.rfile.read(length).decode()
            matrix = "query_range" in self.path
            ident = {"slo_service": "shop", "slo_name": "api"}
            if "slo%3Ainfo" in form and not matrix:
                result = [{"metric": {**ident, "objective": "99", "window": "30d"}, "value": [1, "1"]}]
            else:
                value = "NaN" if "index" in form else "garbage"
                result = (
                    [{"metric": ident, "values": [[1, value], ["x", "1"]]}]
                    if matrix
                    else [{"metric": ident, "value": [1, value]}]
                )
            body = {"status": "success", "data": {"resultType": "matrix" if matrix else "vector", "result": result}}
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        budget = _budget("--prometheus", url, "--gate", "--format", "json")
        report = CliRunner().invoke(main, ["report", "--prometheus", url, "--out", str(tmp_path / "r.md")])
    finally:
        server.shutdown()
    for result in (budget, report):
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == 1, result.output
    assert "no budget data for shop/api" in budget.stderr
