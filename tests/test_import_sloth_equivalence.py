"""Imported Sloth SLOs behave like Sloth's own rules: same synthetic counters into both rule sets, one promtool run.

For each Sloth example whose generated rules are in the corpus (`examples/_gen/`), the example is
imported, sloforge's rules are rendered, and promtool evaluates Sloth's and sloforge's rules on the
same input: the 5m/1h/6h error ratios agree within 1% (once the 6h window holds most of the incident),
and whenever Sloth's page alert fires, sloforge's page alert fires no later than LATE_EVALUATIONS after it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.model.slo import SLO
from generator.model.synthetic import Phase, Unsupported, plan_inputs, synthesize
from generator.pipeline import load_model
from generator.targets.rules import render_service_rules, windows_of
from generator.targets.yaml_text import dump_yaml
from generator.tools.runner import promtool
from tests.test_import_corpus import CORPUS

pytestmark = pytest.mark.skipif(CORPUS is None, reason="peer corpus ../shared/peers not present")

STEP_MS = 60_000
CLEAN_MS, INCIDENT_MS = 3_600_000, 6 * 3_600_000 + 600_000  # the 6h window ends inside the incident
# sloforge's windows are tiled exactly from recorded rates and its default tiers have no `for`, so its page
# may fire at most one evaluation after Sloth's (the bound).
LATE_EVALUATIONS = 1
EXAMPLES = [
    "getting-started.yml",
    "k8s-getting-started.yml",
    "multifile.yml",
    "k8s-multifile.yml",
    "kubernetes-apiserver.yml",
    "openslo-getting-started.yml",
    "openslo-kubernetes-apiserver.yml",
    "no-alerts.yml",
    "home-wifi.yml",
    "raw-home-wifi.yml",
]


def sloth_groups(generated: Path) -> list[dict]:
    """Rule groups of a Sloth output: a rule file, or PrometheusRule objects."""
    groups: list[dict] = []
    for document in yaml.safe_load_all(generated.read_text()):
        if not document:
            continue
        groups += document["spec"]["groups"] if document.get("kind") == "PrometheusRule" else document["groups"]
    return groups


def sloth_slo_name(groups: list[dict], slo: SLO) -> str:
    """Sloth's name for the SLO: the same, or with `-<objective index>` for OpenSLO input."""
    text = yaml.safe_dump(groups)
    for candidate in (slo.name, f"{slo.name}-0"):
        if f"sloth_slo: {candidate}\n" in text or f'sloth_slo="{candidate}"' in text:
            return candidate
    raise AssertionError(f"no Sloth rules for {slo.key}")


def sloth_page_alert(groups: list[dict], sloth_id: str) -> str | None:
    for group in groups:
        for rule in group["rules"]:
            labels = rule.get("labels", {})
            if "alert" in rule and labels.get("sloth_severity") == "page" and f'sloth_id="{sloth_id}"' in rule["expr"]:
                return rule["alert"]
    return None


def checks(slo: SLO, sloth_slo: str, page_alert: str | None) -> list[dict]:
    end = CLEAN_MS + INCIDENT_MS
    sloth = f'sloth_service="{slo.service}",sloth_slo="{sloth_slo}"'
    ours = f'slo_service="{slo.service}",slo_name="{slo.name}"'
    result = []
    recorded = {window.text for window in windows_of(slo)}  # an SLO without alerts records only 5m and its window
    for window, times in (("5m", (90, 370)), ("1h", (90, 370)), ("6h", (370,))):  # minutes into the incident
        if window not in recorded:
            continue
        theirs, mine = f"slo:sli_error:ratio_rate{window}{{{sloth}}}", f"slo:sli_error:ratio_rate{window}{{{ours}}}"
        for at in (CLEAN_MS + minutes * 60_000 for minutes in times):
            result.append(
                {
                    "expr": f"min(abs({theirs} - on() {mine}) <= bool on() (0.01 * {mine}))",
                    "eval_time": f"{at // 60_000}m",
                    "exp_samples": [{"labels": "{}", "value": 1}],
                }
            )
    if page_alert:
        sloth_firing = f'ALERTS{{alertname="{page_alert}",alertstate="firing",sloth_severity="page",{sloth}}}'
        ours_firing = f'ALERTS{{alertstate="firing",slo_notify="page",{ours}}}'
        result += [
            {  # Sloth fires in this scenario (so the next check is not vacuous)
                "expr": f"count({sloth_firing})",
                "eval_time": f"{end // 60_000}m",
                "exp_samples": [{"labels": "{}", "value": 1}],
            },
            {  # never a minute where Sloth fired one evaluation ago and sloforge does not fire now
                "expr": f"count_over_time((count({sloth_firing} offset {LATE_EVALUATIONS}m) unless on() count({ours_firing}))[{end // 60_000}m:1m])",
                "eval_time": f"{end // 60_000}m",
                "exp_samples": [],
            },
        ]
    return result


@pytest.mark.parametrize("example", EXAMPLES)
def test_imported_sloth_rules_agree_with_sloths(tmp_path, example):
    assert CORPUS is not None
    source, generated = CORPUS / "sloth/examples" / example, CORPUS / "sloth/examples/_gen" / example
    specs = tmp_path / "specs"
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(specs)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    model = load_model(specs)
    groups = sloth_groups(generated)
    (tmp_path / "sloth.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    tests, uncovered = [], []
    for service in model.services:
        (tmp_path / f"sloforge-{service.name}.yaml").write_text(render_service_rules(service, model.settings))
        for slo in service.slos:
            try:
                plan = plan_inputs(slo, STEP_MS)
            except Unsupported as exc:
                uncovered.append(f"{slo.key}: {exc}")
                continue
            name = sloth_slo_name(groups, slo)
            fast = next(t for t in slo.tiers if t.name == "page-fast") if slo.tiers else None
            ratio = min(Fraction(str(fast.threshold)) * 2 if fast else Fraction(1, 20), Fraction(1))
            synthesis = synthesize(plan, [Fraction(0), ratio], Fraction(1, 10_000))
            phases = (Phase(0, Fraction(0)), Phase(CLEAN_MS, synthesis.quantize(ratio)))
            tests.append(
                {
                    "name": f"{slo.key} vs Sloth",
                    "interval": f"{plan.interval_ms // 1000}s",
                    "input_series": synthesis.input_series(phases, CLEAN_MS + INCIDENT_MS),
                    "promql_expr_test": checks(slo, name, sloth_page_alert(groups, f"{slo.service}-{name}")),
                }
            )
    if not tests:
        pytest.skip(f"no SLO of {example} has inputs sloforge can synthesize: {'; '.join(uncovered)}")
    rule_files = ["sloth.yaml"] + [f"sloforge-{service.name}.yaml" for service in model.services]
    test_file = tmp_path / "equivalence.test.yaml"
    test_file.write_text(dump_yaml({"rule_files": rule_files, "evaluation_interval": "1m", "tests": tests}))
    outcome = promtool(["test", "rules", test_file.name], f"equivalence {example}", cwd=tmp_path)
    assert outcome.ok, outcome.output
