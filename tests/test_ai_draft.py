"""`sloforge draft` end to end: the real anthropic client against a local fake Messages API.

No test here opens a connection beyond 127.0.0.1 or needs a real API key.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from fake_anthropic import API_KEY, FakeAnthropic, Reply, error, good_answer, text_message
from fixture_paths import SPECS

from generator.ai.context import fingerprint
from generator.ai.defaults import DEFAULT_MODEL
from generator.cli import main
from generator.pipeline import load_model
from generator.targets.prose import skeleton_description, skeleton_summary


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """The example specs without their drafts, in a temp dir the tests may change."""
    target = tmp_path / "slo_specs"
    shutil.copytree(SPECS, target, ignore=shutil.ignore_patterns("drafts"))
    return target


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def sloforge(
    *args: str, fake: FakeAnthropic | None = None, key: str | None = API_KEY, model: str | None = None
) -> Result:
    env = {"ANTHROPIC_API_KEY": key, "ANTHROPIC_AUTH_TOKEN": None, "SLOFORGE_MODEL": model}
    env["ANTHROPIC_BASE_URL"] = fake.url if fake else "http://127.0.0.1:9"  # discard port: nothing listens
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def draft(specs: Path, fake: FakeAnthropic, *args: str) -> Result:
    return sloforge("draft", "--specs", str(specs), "--service", "checkout", *args, fake=fake)


def drafts_of(specs: Path, service: str = "checkout") -> dict:
    return yaml.safe_load((specs / "drafts" / f"{service}.yaml").read_text())["slos"]


def render(specs: Path, out: Path, *args: str) -> Result:
    return sloforge("render", "--specs", str(specs), "--out", str(out), *args)


def annotations(out: Path, service: str = "checkout") -> dict[tuple[str, str], dict]:
    groups = yaml.safe_load((out / "prometheus" / "rules" / f"{service}.yaml").read_text())["groups"]
    return {
        (rule["labels"]["slo_name"], rule["labels"]["slo_tier"]): rule["annotations"]
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    }


def set_reviewed(specs: Path, slo: str, **changes: object) -> None:
    path = specs / "drafts" / "checkout.yaml"
    data = yaml.safe_load(path.read_text())
    data["slos"][slo].update({"reviewed": True, **changes})
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_good_draft_is_stored_and_rendered(specs: Path, fake: FakeAnthropic, tmp_path: Path, promtool: str) -> None:
    result = draft(specs, fake)
    assert result.exit_code == 0, result.output
    model = load_model(specs)
    entries = drafts_of(specs)
    assert sorted(entries) == ["availability", "latency"]
    for name, entry in entries.items():
        slo = next(s for s in model.slos if s.key == f"checkout/{name}")
        assert entry["fingerprint"] == fingerprint(slo, model)
        assert entry["reviewed"] is False and entry["model"] == DEFAULT_MODEL
        assert sorted(entry["alerts"]) == sorted(t.name for t in slo.tiers)
    assert "2 SLO(s) drafted, 0 rejected, 0 failed" in result.stdout
    cache_reads = int(re.search(r"(\d+) cache reads", result.stdout).group(1))
    assert cache_reads > 0  # the second request read the cached system prompt

    request = fake.requests[0].body
    assert request["model"] == DEFAULT_MODEL
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["tool_choice"]["type"] == "tool" and request["tool_choice"]["name"] == "record_draft"
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"

    out = tmp_path / "out"
    assert render(specs, out).exit_code == 0
    assert "drafted summary" not in str(annotations(out))  # unreviewed: not used by default
    assert render(specs, out, "--include-unreviewed-drafts").exit_code == 0
    rendered = annotations(out)
    assert rendered[("availability", "page-fast")]["summary"] == "checkout/availability: drafted summary for page-fast"
    assert "{{ $value | humanize }}x" in rendered[("latency", "page-slow")]["description"]
    runbook = (out / "runbooks" / "checkout" / "availability.md").read_text()
    assert "Drafted triage for checkout/availability" in runbook and "NOT REVIEWED yet" in runbook
    assert "nobody has reviewed" in runbook
    assert "max_over_time(slo:sli_error:ratio_rate5m" in runbook
    files = [str(p) for p in (out / "prometheus" / "rules").glob("*.yaml")]
    checked = subprocess.run([promtool, "check", "rules", *files], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = tmp_path / "again"
    render(specs, again, "--include-unreviewed-drafts")
    for path in out.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (again / path.relative_to(out)).read_bytes()


def test_malformed_json_keeps_the_skeleton(specs: Path, fake: FakeAnthropic, tmp_path: Path) -> None:
    fake.script["checkout/availability"] = [Reply(200, text_message('{"alerts": [{"tier": "page-fast", "summ'))]
    result = draft(specs, fake)
    assert result.exit_code == 0, result.output
    assert "rejected checkout/availability: malformed JSON in the answer" in result.stderr
    assert sorted(drafts_of(specs)) == ["latency"]
    out = tmp_path / "out"
    render(specs, out)
    model = load_model(specs)
    slo = next(s for s in model.slos if s.key == "checkout/availability")
    page_fast = annotations(out)[("availability", "page-fast")]
    assert page_fast["summary"] == skeleton_summary(slo, slo.tiers[0])
    assert page_fast["description"] == skeleton_description(slo, slo.tiers[0])


@pytest.mark.parametrize(
    "body,reason",
    [("{not json", "the API answered with malformed JSON"), ('{"id": "msg_1"}', "without message content")],
)
def test_malformed_response_body_fails_that_slo_only(specs: Path, fake: FakeAnthropic, body: str, reason: str) -> None:
    fake.script["checkout/availability"] = [Reply(200, body)]
    result = draft(specs, fake, "--max-retries", "0")
    assert reason in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(drafts_of(specs)) == ["latency"]


def _with(change):
    def answer(context: dict) -> dict:
        data = good_answer(context)
        if context["slo"] == "availability":
            change(data)
        return data

    return answer


def test_invalid_template_is_rejected_and_the_rest_kept(
    specs: Path, fake: FakeAnthropic, tmp_path: Path, promtool: str
) -> None:
    def hostile(data: dict) -> None:
        data["alerts"][0]["description"] = 'Burning {{ $value | printf "%.1f" }} {{ .Labels.job }}'

    fake.answer = _with(hostile)
    result = draft(specs, fake)
    assert result.exit_code == 0, result.output
    assert "alerts.page-fast.description: template not allowed" in result.stderr
    assert "`printf` is not an allowed function" in result.stderr
    entry = drafts_of(specs)["availability"]
    assert "description" not in entry["alerts"]["page-fast"]
    assert any("alerts.page-fast.description" in reason for reason in entry["rejected"])
    out = tmp_path / "out"
    render(specs, out, "--include-unreviewed-drafts")
    page_fast = annotations(out)[("availability", "page-fast")]
    assert page_fast["summary"] == "checkout/availability: drafted summary for page-fast"
    assert page_fast["description"].startswith("Checkout requests succeed. Burning the error budget at")
    files = [str(p) for p in (out / "prometheus" / "rules").glob("*.yaml")]
    assert subprocess.run([promtool, "check", "rules", *files], capture_output=True).returncode == 0


def test_promql_with_an_unknown_metric_is_rejected(specs: Path, fake: FakeAnthropic, tmp_path: Path) -> None:
    def hostile(data: dict) -> None:
        data["runbook"]["investigation"].insert(
            0, {"title": "Node CPU", "query": 'sum(rate(node_cpu_seconds_total{mode!="idle"}[5m]))'}
        )

    fake.answer = _with(hostile)
    result = draft(specs, fake)
    assert result.exit_code == 0, result.output
    assert "references metric(s) node_cpu_seconds_total that this SLO does not use or record" in result.stderr
    queries = drafts_of(specs)["availability"]["runbook"]["investigation"]
    assert [q["title"] for q in queries] == ["Drafted: worst hour today"]
    out = tmp_path / "out"
    render(specs, out, "--include-unreviewed-drafts")
    runbook = (out / "runbooks" / "checkout" / "availability.md").read_text()
    assert "node_cpu_seconds_total" not in runbook and "Drafted: worst hour today" in runbook


def test_overloaded_twice_then_success(specs: Path, fake: FakeAnthropic) -> None:
    overloaded = error(529, "overloaded_error", "Overloaded")
    fake.script["checkout/latency"] = [overloaded, error(529, "overloaded_error", "Overloaded")]
    fake.script["checkout/availability"] = [error(429, "rate_limit_error", "slow down")]
    result = draft(specs, fake)
    assert result.exit_code == 0, result.output
    assert len(fake.requests_for("checkout/latency")) == 3
    assert len(fake.requests_for("checkout/availability")) == 2
    assert sorted(drafts_of(specs)) == ["availability", "latency"]


def test_timeout_fails_that_slo_and_keeps_drafts_already_written(specs: Path, fake: FakeAnthropic) -> None:
    fake.script["checkout/latency"] = [Reply(delay=30)]
    result = draft(specs, fake, "--timeout", "0.5", "--max-retries", "0", "--concurrency", "1")
    assert result.exit_code == 1, result.output
    assert "failed checkout/latency: request timed out" in result.stderr
    assert "1 SLO(s) drafted, 0 rejected, 1 failed" in result.stdout
    assert sorted(drafts_of(specs)) == ["availability"]


def test_wrong_key_stops_the_run(specs: Path, tmp_path: Path) -> None:
    with FakeAnthropic(api_key="sk-ant-other") as other:
        result = draft(specs, other, "--concurrency", "1")
    assert result.exit_code == 1
    assert "rejected the key in ANTHROPIC_API_KEY (401)" in result.stderr
    assert "not sent after an earlier fatal error" in result.stderr
    assert len(other.requests) == 1
    assert not (specs / "drafts").exists()


def test_stale_draft_after_a_spec_edit(specs: Path, fake: FakeAnthropic, tmp_path: Path) -> None:
    draft(specs, fake)
    set_reviewed(specs, "availability")
    set_reviewed(specs, "latency")
    out = tmp_path / "out"
    assert render(specs, out, "--require-reviewed").exit_code == 0
    assert sloforge("check", "--specs", str(specs), "--out", str(out), "--require-reviewed").exit_code == 0

    spec = specs / "checkout.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9\n", "objective: 99.5\n", 1))
    checked = sloforge("check", "--specs", str(specs), "--out", str(out), "--require-reviewed")
    assert checked.exit_code == 1
    assert re.search(r"drafts/checkout\.yaml:\d+:\d+: stale: checkout/availability changed", checked.stderr)
    assert "checkout/latency" not in checked.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    refused = render(specs, out, "--require-reviewed")
    assert refused.exit_code == 1 and "nothing was written" in refused.stderr
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert render(specs, out).exit_code == 0  # without the flag: warned, rendered, marked stale
    assert "STALE" in (out / "runbooks" / "checkout" / "availability.md").read_text()
    # a stale, reviewed draft is kept by `draft` until forced
    kept = draft(specs, fake)
    assert "skip   checkout/availability: reviewed: kept" in kept.stderr


def test_reviewed_draft_kept_without_force(specs: Path, fake: FakeAnthropic) -> None:
    draft(specs, fake)
    set_reviewed(specs, "availability", alerts={"page-fast": {"summary": "Checkout is failing: reviewed text"}})
    reviewed = (specs / "drafts" / "checkout.yaml").read_text()
    sent = len(fake.requests)
    result = draft(specs, fake, "--slo", "availability")
    assert result.exit_code == 0
    assert "skip   checkout/availability: reviewed: kept (use --force to redraft)" in result.stderr
    assert len(fake.requests) == sent
    assert (specs / "drafts" / "checkout.yaml").read_text() == reviewed

    forced = draft(specs, fake, "--slo", "availability", "--force")
    assert forced.exit_code == 0 and len(fake.requests) == sent + 1
    entry = drafts_of(specs)["availability"]
    assert entry["reviewed"] is False
    assert entry["alerts"]["page-fast"]["summary"] == "checkout/availability: drafted summary for page-fast"


def test_edited_draft_kept_and_current_draft_not_resent(specs: Path, fake: FakeAnthropic) -> None:
    draft(specs, fake)
    sent = len(fake.requests)
    path = specs / "drafts" / "checkout.yaml"
    path.write_text(path.read_text().replace("Drafted triage for checkout/latency", "Hand-edited triage", 1))
    result = draft(specs, fake)
    assert "skip   checkout/latency: edited by people: kept" in result.stderr
    assert "skip   checkout/availability: up to date" in result.stderr
    assert len(fake.requests) == sent
    assert "Hand-edited triage" in path.read_text()


def test_dry_run_sends_nothing_and_needs_no_key(specs: Path, fake: FakeAnthropic) -> None:
    result = sloforge("draft", "--specs", str(specs), "--dry-run", fake=fake, key=None, model="claude-haiku-5-5")
    assert result.exit_code == 0, result.output
    assert "with claude-haiku-5-5:" in result.stdout  # SLOFORGE_MODEL picks the model
    assert fake.requests == []
    assert not (specs / "drafts").exists()
    lines = [line for line in result.stdout.splitlines() if line.startswith("draft  ")]
    assert len(lines) == len(load_model(specs).slos)
    assert all(re.search(r"~\d+ input tokens$", line) for line in lines)
    assert "Nothing was sent or written." in result.stdout


def test_missing_key_is_bad_input(specs: Path, fake: FakeAnthropic) -> None:
    result = sloforge("draft", "--specs", str(specs), fake=fake, key=None)
    assert result.exit_code == 2 and "ANTHROPIC_API_KEY is not set" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize("header", ["x-api-key", "authorization"])
def test_fake_accepts_both_auth_headers(fake: FakeAnthropic, header: str) -> None:
    body = json.dumps(
        {
            "messages": [
                {
                    "role": "user",
                    "content": '```json\n{"service": "s", "slo": "o", "recorded_series": ["slo:sli_error:ratio_rate5m{}"], "tiers": []}\n```',
                }
            ]
        }
    )
    value = API_KEY if header == "x-api-key" else f"Bearer {API_KEY}"

    def post(value: str) -> int:
        request = urllib.request.Request(
            fake.url + "/v1/messages", body.encode(), {header: value, "anthropic-version": "2023-06-01"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post(value) == 200
    assert post(value + "x") == 401


def test_render_and_check_never_touch_the_network(specs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(SPECS / "drafts", specs / "drafts")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("render opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    out = tmp_path / "out"
    assert sloforge("render", "--specs", str(specs), "--out", str(out), key=None).exit_code == 0
    assert sloforge("check", "--specs", str(specs), "--out", str(out), "--require-reviewed", key=None).exit_code == 0
    probe = "import sys; from generator.cli import main; main(['render', '--specs', sys.argv[1], '--out', sys.argv[2]])"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe, str(specs), str(tmp_path / "sub")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert " anthropic" not in done.stderr  # the SDK is not even imported by render
