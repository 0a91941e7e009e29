"""Drafts are untrusted input wherever they come from; only reviewed text is rendered; spec text is escaped.

Every spec set here is built in tmp_path; none depends on slo_specs/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from fake_anthropic import API_KEY, FakeAnthropic

from generator.ai import checks
from generator.ai.context import fingerprint
from generator.ai.schema import AlertText, DraftEntry, QueryText, RunbookText, new_document
from generator.ai.store import draft_path, text_hash, write_draft_file
from generator.cli import main
from generator.pipeline import load_model

SERVICE = """\
apiVersion: sloforge/v1
kind: Service
service: checkout
team: payments
description: {service_description}
slos:
  - name: availability
    description: {description}
    objective: 99.9
    sli:
      events:
        errors: sum(rate(http_requests_total{{job="checkout",code=~"5.."}}[{{{{.window}}}}]))
        total: sum(rate(http_requests_total{{job="checkout"}}[{{{{.window}}}}]))
"""
TEAMS = """\
apiVersion: sloforge/v1
kind: Teams
teams:
  payments:
    page: {pagerduty: {routing_key_file: /etc/alertmanager/secrets/payments-pagerduty}}
"""
POLICY = """\
apiVersion: sloforge/v1
kind: Policy
settings:
  runbook_base_url: https://git.example.com/slos/blob/main/rendered
  dashboard_base_url: https://grafana.example.com
"""
DRAFTED_TRIAGE = "Drafted triage: compare the 5xx rate with the deploy log."


def write_specs(
    tmp_path: Path, description: str = "Checkout requests succeed", service_description: str = "API"
) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    text = SERVICE.format(description=json.dumps(description), service_description=json.dumps(service_description))
    (specs / "checkout.yaml").write_text(text)
    (specs / "teams.yaml").write_text(TEAMS)
    (specs / "policy.yaml").write_text(POLICY)
    return specs


def write_draft(specs: Path, *, reviewed: bool = True, model_id: str = "claude-test", **text: object) -> Path:
    """A draft entry for checkout/availability whose text_hash matches its text (as `sloforge draft` writes it)."""
    model = load_model(specs)
    slo = model.slos[0]
    runbook = RunbookText(
        likely_causes=list(text.get("likely_causes", ["A bad deploy."])),
        triage=list(text.get("triage", [DRAFTED_TRIAGE])),
        mitigation=list(text.get("mitigation", ["Roll back."])),
        investigation=[QueryText(title=str(text.get("title", "5xx rate")), query="sum(rate(http_requests_total[5m]))")],
    )
    alerts = {"page-fast": AlertText(summary=str(text.get("summary", "checkout is failing")), description=None)}
    entry = DraftEntry(fingerprint=fingerprint(slo, model), model=model_id, alerts=alerts, runbook=runbook)
    entry.text_hash = text_hash(entry)
    entry.reviewed = reviewed
    doc = new_document("checkout")
    doc.slos["availability"] = entry
    path = draft_path(specs, "checkout")
    write_draft_file(path, doc)
    return path


def sloforge(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def render(specs: Path, out: Path, *args: str) -> Result:
    return sloforge("render", "--specs", str(specs), "--out", str(out), *args)


def runbook(out: Path) -> str:
    return (out / "runbooks" / "checkout" / "availability.md").read_text()


# --- hostile draft files: exit 2 at file:line:col, nothing written ----------------------------

HOSTILE_ITEMS = {
    "image": ("Look: ![status](https://grafana.example.com/x.png)", "contains an image"),
    "html": ('<img src=x onerror="alert(1)">', "HTML"),
    "unclosed-html": ("<script src=https://grafana.example.com/x.js", "HTML"),
    "entity": ("click &#106;avascript:alert(1)", "HTML entity"),
    "javascript": ("[open](javascript:alert(document.cookie))", "javascript:"),
    "data": ("[open](data:text/html;base64,PHNjcmlwdD4=)", "javascript:, vbscript:, data: or file:"),
    "protocol-relative": ("see //evil.example.net/steal for details", "without a scheme"),
    "protocol-relative-link": ("[docs](//evil.example.net/x)", "without a scheme"),
    "www": ("see www.evil.example.net for details", "without a scheme"),
    "foreign": ("see https://evil.example.net/runbook", "outside the spec's runbook and dashboard base URLs"),
    "lookalike": ("see https://grafana.example.com.evil.net/d/x", "outside the spec's runbook and dashboard base URLs"),
    "relative": ("[other runbook](../payments/other.md)", "relative or empty link target"),
    "reference": ("[docs][1]\n\n[1]: https://evil.example.net", "outside the spec's"),
    "bidi-override": ("Check \u202ethe deploy log", "bidirectional"),
    "bidi-isolate": ("Check \u2066the deploy log\u2069", "bidirectional"),
    "rlm": ("Check the\u200f deploy log", "bidirectional"),
    "zero-width": ("Roll\u200bback", "invisible"),
    "heading": ("First line\n# Injected heading", "heading"),
    "setext": ("First line\n===", "heading"),
    "heading-first": ("# Injected heading", "heading"),
    "rule": ("First line\n* * *", "rule"),
    "fence": ("Run\n```\nrm -rf /\n```", "code fence"),
    "too-long": ("x" * (checks.MAX_ITEM + 1), "characters long"),
}


@pytest.mark.parametrize("text,reason", HOSTILE_ITEMS.values(), ids=HOSTILE_ITEMS.keys())
def test_hostile_draft_item_is_an_error_at_its_position(tmp_path, text, reason):
    specs = write_specs(tmp_path)
    path = write_draft(specs, triage=[text])
    item_line = path.read_text().splitlines().index("      triage:") + 2
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 2, result.output
    assert re.search(rf"drafts/checkout\.yaml:{item_line}:\d+: triage\[0\]: .*{re.escape(reason)}", result.output), (
        result.output
    )
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    "model_id,reason",
    [
        ("[claude](https://evil.example.net)", "outside the spec's"),
        ("claude <b>bold</b>", "HTML"),
        ("claude\u202e", "bidirectional"),
        ("claude\nsecond line", "single line"),
        ("c" * (checks.MAX_MODEL + 1), "characters long"),
    ],
)
def test_the_model_field_is_checked_too(tmp_path, model_id, reason):
    specs = write_specs(tmp_path)
    path = write_draft(specs, model_id=model_id)
    model_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("    model:"))
    result = render(specs, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert f"checkout.yaml:{model_line}:" in result.output and reason in result.output, result.output


@pytest.mark.parametrize("field", ["summary", "title"])
def test_one_line_fields_reject_links_too(tmp_path, field):
    specs = write_specs(tmp_path)
    write_draft(specs, **{field: "see https://evil.example.net"})
    result = render(specs, tmp_path / "out")
    assert result.exit_code == 2 and f"{field}: contains a link outside" in result.output, result.output


def test_links_under_the_specs_own_base_urls_are_allowed(tmp_path):
    specs = write_specs(tmp_path)
    item = "Open [the dashboard](https://grafana.example.com/d/slo-checkout) and https://git.example.com/slos/blob/main/rendered/runbooks/README.md"
    write_draft(specs, triage=[item])
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 0, result.output
    assert "https://grafana.example.com/d/slo-checkout" in runbook(out)


def test_the_api_path_applies_the_same_check(tmp_path):
    """`sloforge draft` refuses to store what render would refuse: here the model id itself."""
    specs = write_specs(tmp_path)
    with FakeAnthropic() as fake:
        env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_AUTH_TOKEN": None, "ANTHROPIC_BASE_URL": fake.url}
        args = ["draft", "--specs", str(specs), "--model", "claude-x [docs](https://evil.example.net)"]
        result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert "rejected checkout/availability: model: contains a link outside" in result.output, result.output
    assert not draft_path(specs, "checkout").exists()


def test_same_check_for_answer_and_file(tmp_path):
    """One function: the API answer's entry and a draft file's entry get the same verdict."""
    specs = write_specs(tmp_path)
    model = load_model(specs)
    slo = model.slos[0]
    rules = checks.rules_for(slo, model)
    verdict = checks.judge({"runbook": {"triage": ["![x](https://grafana.example.com/a.png)", "fine step"]}}, rules)
    assert verdict.runbook.triage == ["fine step"]
    assert any("contains an image" in reason for reason in verdict.rejected)
    entry = DraftEntry(fingerprint="0" * 16, runbook=RunbookText(triage=["![x](https://grafana.example.com/a.png)"]))
    assert [path for path, _ in checks.check_entry(entry, rules)] == [("runbook", "triage", 0)]


# --- only reviewed text whose hash still matches is rendered ----------------------------------


def test_unreviewed_draft_is_not_rendered_without_the_flag(tmp_path):
    specs = write_specs(tmp_path)
    write_draft(specs, reviewed=False)
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 0, result.output
    assert DRAFTED_TRIAGE not in runbook(out)
    assert "is not used, not reviewed" in runbook(out)
    assert "checkout is failing" not in (out / "prometheus" / "rules" / "checkout.yaml").read_text()

    shown = tmp_path / "shown"
    assert render(specs, shown, "--include-unreviewed-drafts").exit_code == 0
    text = runbook(shown)
    assert DRAFTED_TRIAGE in text and "NOT REVIEWED" in text
    assert "> **Warning: this runbook shows AI-drafted text that nobody has reviewed**" in text
    check = sloforge("check", "--specs", str(specs), "--out", str(shown), "--include-unreviewed-drafts")
    assert check.exit_code == 0, check.output


def test_reviewed_draft_is_rendered_until_its_text_changes(tmp_path):
    specs = write_specs(tmp_path)
    path = write_draft(specs, reviewed=True)
    out = tmp_path / "out"
    assert render(specs, out).exit_code == 0
    assert DRAFTED_TRIAGE in runbook(out) and "nobody has reviewed" not in runbook(out)

    path.write_text(path.read_text().replace("compare the 5xx rate", "ignore the 5xx rate"))  # edited after review
    edited = render(specs, out)
    assert edited.exit_code == 0
    assert re.search(r"drafts/checkout\.yaml:\d+:\d+: stale: checkout/availability: edited after review", edited.output)
    assert "ignore the 5xx rate" not in runbook(out) and "is not used, edited after review" in runbook(out)
    assert render(specs, out, "--require-reviewed").exit_code == 1

    marked = sloforge("draft", "--specs", str(specs), "--service", "checkout", "--mark-reviewed")
    assert marked.exit_code == 0 and "reviewed checkout/availability" in marked.output
    entry = yaml.safe_load(path.read_text())["slos"]["availability"]
    assert entry["reviewed"] is True
    assert render(specs, out, "--require-reviewed").exit_code == 0
    assert "ignore the 5xx rate" in runbook(out)


def test_reviewed_without_a_text_hash_is_not_trusted(tmp_path):
    specs = write_specs(tmp_path)
    path = write_draft(specs)
    path.write_text(re.sub(r"\n    text_hash: [0-9a-f]+", "", path.read_text()))
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 0 and "no text_hash records which text was reviewed" in result.output
    assert DRAFTED_TRIAGE not in runbook(out)


def test_mark_reviewed_refuses_a_hostile_draft(tmp_path):
    specs = write_specs(tmp_path)
    path = write_draft(specs, reviewed=False, triage=["<script>alert(1)</script>"])
    result = sloforge("draft", "--specs", str(specs), "--mark-reviewed")
    assert result.exit_code == 2 and "HTML" in result.output
    assert yaml.safe_load(path.read_text())["slos"]["availability"]["reviewed"] is False


# --- spec descriptions are text, not markup ---------------------------------------------------

LIVE_LINK = re.compile(r"(?<!\\)\]\(javascript:")  # an unescaped `](javascript:` would be a link
HOSTILE_DESCRIPTION = "Fast | slow `x` <script>alert(1)</script> [click](javascript:alert(1)) *bold* $math$ ~strike~"


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| SLO |")]


@pytest.mark.parametrize("description", [HOSTILE_DESCRIPTION, "# Heading\nsecond line | cell"])
def test_hostile_descriptions_stay_text_in_runbooks_and_panels(tmp_path, description):
    specs = write_specs(tmp_path, description=description)
    out = tmp_path / "out"
    result = render(specs, out)
    assert result.exit_code == 0, result.output
    text = runbook(out)
    (row,) = _table_rows(text)
    assert len(re.findall(r"(?<!\\)\|", row)) == 3  # the row keeps its two cells
    assert "<script>" not in text and not LIVE_LINK.search(text)
    assert not re.search(r"^#+ Heading", text, re.MULTILINE)  # no injected heading at the start of a line
    overview = text.split("## Overview\n\n", 1)[1].splitlines()[0]
    assert not overview.startswith("#")
    index = (out / "runbooks" / "README.md").read_text()
    assert "<script>" not in index and not LIVE_LINK.search(index)

    dashboard = json.loads((out / "grafana" / "dashboards" / "checkout.json").read_text())
    contents = [p["options"]["content"] for p in dashboard["panels"] if p.get("type") == "text"]
    assert contents and all("<script>" not in c and not LIVE_LINK.search(c) for c in contents)
    assert any("&lt;script&gt;" in c or "Heading" in c for c in contents)


def test_plain_descriptions_render_unchanged(tmp_path):
    specs = write_specs(tmp_path, description="Checkout requests succeed within 300ms")
    out = tmp_path / "out"
    assert render(specs, out).exit_code == 0
    assert "| SLO | `availability`: Checkout requests succeed within 300ms |" in runbook(out)
