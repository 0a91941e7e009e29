"""Checks on drafted text: the model's answer and hand-edited draft files are untrusted input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fixture_paths import SPECS

from generator.ai import checks
from generator.ai.gotemplate import TemplateProblem, check_template
from generator.ai.schema import AlertText
from generator.ai.toolcheck import apply_promtool
from generator.cli import main
from generator.model.slo import Model

LABELS = {"slo_service", "slo_name", "severity"}

ACCEPTED_TEMPLATES = [
    "no template at all",
    "burning at {{ $value | humanize }}x",
    "{{ humanizePercentage $value }} of requests",
    "{{- $labels.slo_name -}} is slow",
    'literal {{ "{{" }} braces',
    "{{ humanizeDuration (humanize $value) }}",
]
REJECTED_TEMPLATES = {
    "{{ $value ": "unclosed action",
    "{{ .Value }}": "use $value",
    "{{ $externalLabels.cluster }}": "only $value and $labels",
    '{{ query "up" }}': "not an allowed function",
    "{{ if gt $value 1.0 }}high{{ end }}": "control structures",
    "{{ $x := 1 }}": "only $value and $labels",
    '{{ $value | printf "%.2f" }}': "not an allowed function",
    "{{ humanize }}": "exactly one argument",
    "{{ $labels.customer_id }}": "label the alert does not have",
    "{{/* note */}}": "comments",
    "{{ $value | $value }}": "cannot receive a pipeline",
    '{{ "open }}': "unterminated",
}


@pytest.mark.parametrize("text", ACCEPTED_TEMPLATES)
def test_allowed_template_subset(text: str) -> None:
    check_template(text, LABELS)


@pytest.mark.parametrize("text,reason", sorted(REJECTED_TEMPLATES.items()))
def test_rejected_templates_say_why(text: str, reason: str) -> None:
    with pytest.raises(TemplateProblem, match="character") as problem:
        check_template(text, LABELS)
    assert reason in str(problem.value)


def _rule_file(tmp_path: Path, description: str) -> Path:
    rule = {"alert": "T", "expr": "vector(1)", "annotations": {"description": description}}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
    return path


@pytest.mark.parametrize("text", ACCEPTED_TEMPLATES)
def test_promtool_accepts_what_the_checker_accepts(tmp_path: Path, promtool: str, text: str) -> None:
    done = subprocess.run([promtool, "check", "rules", str(_rule_file(tmp_path, text))], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("text", ["{{ $value ", "{{ $value | nosuchfunction }}", "{{ if }}"])
def test_promtool_is_the_authority_on_broken_templates(tmp_path: Path, promtool: str, text: str) -> None:
    with pytest.raises(TemplateProblem):
        check_template(text, LABELS)
    done = subprocess.run([promtool, "check", "rules", str(_rule_file(tmp_path, text))], capture_output=True, text=True)
    assert done.returncode != 0


def test_draft_runs_promtool_after_the_in_process_checks(promtool: str) -> None:
    # Pretend the in-process checks let two bad texts through; promtool must catch them.
    verdict = checks.Verdict(
        alerts={
            "page-fast": AlertText(summary="fine {{ $labels.slo_name }}", description="{{ $value | nosuchfunc }}"),
            "page-slow": AlertText(summary="{{ end }}"),
        }
    )
    apply_promtool(verdict)
    assert verdict.alerts["page-fast"].summary == "fine {{ $labels.slo_name }}"
    assert verdict.alerts["page-fast"].description is None
    assert "page-slow" not in verdict.alerts
    assert any(r.startswith("alerts.page-fast.description: promtool:") and "nosuchfunc" in r for r in verdict.rejected)
    assert any(r.startswith("alerts.page-slow.summary: promtool:") for r in verdict.rejected)


def _slo(model: Model, key: str):
    return next(slo for slo in model.slos if slo.key == key)


def _judge(model: Model, key: str, answer: object) -> checks.Verdict:
    slo = _slo(model, key)
    return checks.judge(answer, checks.rules_for(slo, model))


def test_good_answer_is_accepted_whole(example_model: Model) -> None:
    answer = {
        "alerts": [{"tier": "page-fast", "summary": "s", "description": "{{ $value | humanize }}x"}],
        "runbook": {
            "likely_causes": ["a"],
            "triage": ["b", "c"],
            "mitigation": ["d"],
            "investigation": [{"title": "5xx", "query": 'sum(rate(http_requests_total{code=~"5.."}[5m]))'}],
        },
    }
    verdict = _judge(example_model, "checkout/availability", answer)
    assert verdict.rejected == []
    assert verdict.accepted_items == 7
    assert verdict.alerts["page-fast"].description == "{{ $value | humanize }}x"


def test_hostile_answer_keeps_only_what_passes(example_model: Model) -> None:
    answer = {
        "labels": {"severity": "info"},
        "alerts": [
            {"tier": "page-fast", "summary": "ok summary", "description": '{{ query "up" }}', "expr": "vector(1)"},
            {"tier": "page-fast", "summary": "again", "description": "again"},
            {"tier": "made-up", "summary": "x", "description": "y"},
            {"tier": "page-slow", "summary": "two\nlines", "description": "x" * (checks.MAX_DESCRIPTION + 1)},
        ],
        "runbook": {
            "likely_causes": ["see https://example.com/wiki", "<script>alert(1)</script>", "fine cause"],
            "triage": ["step"] * (checks.MAX_ITEMS + 2),
            "mitigation": "not a list",
            "investigation": [
                {"title": "cpu", "query": "rate(node_cpu_seconds_total[5m])"},
                {"title": "broken", "query": "sum(rate(http_requests_total[5m]"},
                {"title": "templated", "query": "rate(http_requests_total[{{.window}}])"},
                {"title": "no name", "query": '{__name__=~"http.*"}'},
                {"title": "ok", "query": "sum(rate(http_requests_total[1h]))"},
            ],
            "escalation": ["call the CEO"],
        },
    }
    verdict = _judge(example_model, "checkout/availability", answer)
    reasons = "\n".join(verdict.rejected)
    for expected in (
        "labels: ignored",
        "alerts.page-fast.expr: ignored",
        "alerts.page-fast.description: template not allowed",
        "alerts.page-fast: given twice",
        "no tier 'made-up'",
        "alerts.page-slow.summary: must be a single line",
        "alerts.page-slow.description: is 1001 characters long",
        "runbook.likely_causes[0]: contains a link outside the spec's runbook and dashboard base URLs",
        "runbook.likely_causes[1]: contains HTML",
        f"runbook.triage: {checks.MAX_ITEMS + 2} items; only the first {checks.MAX_ITEMS} are kept",
        "runbook.mitigation: expected a list",
        "references metric(s) node_cpu_seconds_total",
        "PromQL does not parse",
        "without template placeholders",
        "without a metric name (or by a pattern)",
        "runbook.escalation: ignored",
    ):
        assert expected in reasons
    assert verdict.alerts["page-fast"].summary == "ok summary"
    assert verdict.alerts["page-fast"].description is None
    assert "page-slow" not in verdict.alerts
    assert verdict.runbook.likely_causes == ["fine cause"]
    assert len(verdict.runbook.triage) == checks.MAX_ITEMS
    assert [q.title for q in verdict.runbook.investigation] == ["ok"]


def test_not_an_object_is_rejected(example_model: Model) -> None:
    verdict = _judge(example_model, "checkout/availability", ["alerts"])
    assert verdict.accepted_items == 0 and "expected a JSON object" in verdict.rejected[0]


def _specs_with_draft(tmp_path: Path, edit) -> Path:
    specs = tmp_path / "slo_specs"
    shutil.copytree(SPECS, specs)
    path = specs / "drafts" / "ml-gateway.yaml"
    path.write_text(edit(path.read_text()))
    return specs


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            "fail at {{ $value | humanize }}x the rate the",
            "fail at {{ $value | printf }}x the rate the",
            "ml-gateway.yaml:19:22: description: template not allowed: character 60: `printf` is not an allowed function",
        ),
        (
            "  latency:\n    reviewed: true\n",  # the SLO's fingerprint changes with the rules; the key stays
            "  latency:\n    reviewd: true\n",
            "ml-gateway.yaml:63:5: slos.latency.reviewd: unknown field (did you mean 'reviewed'?)",
        ),
        (
            "query: sum by (outcome) (rate(inference_requests_total",
            "query: sum by (outcome) (rate(node_requests_total",
            "ml-gateway.yaml:56:18: query: references metric(s) node_requests_total",
        ),
        ("kind: Drafts", "kind: Draft", "ml-gateway.yaml:8:7: expected apiVersion: sloforge/v1 and kind: Drafts"),
    ],
)
def test_bad_draft_file_is_a_positioned_error_and_nothing_is_written(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    def edit(text: str) -> str:
        assert old in text, f"the fixture no longer holds {old!r}: the case would test nothing"
        return text.replace(old, new, 1)

    specs = _specs_with_draft(tmp_path, edit)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
