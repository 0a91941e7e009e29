"""The outage that takes the metrics with it: the page keeps firing and SLOSLIMissing pages (real promtool)."""

from __future__ import annotations

import subprocess

import yaml

from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all
from tests.inhibit_specs import SERVICE, write_specs

ONE_SLO = SERVICE[: SERVICE.index("  - name: latency")]  # availability only: a short promtool run


def run(promtool: str, tests: list, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, "test", "rules", *tests], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_generated_tests_prove_the_page_survives_vanishing_metrics(promtool, tmp_path):
    out = tmp_path / "rendered"
    write_tree(render_all(load_model(write_specs(tmp_path, service=ONE_SLO))), out)
    tests_dir = out / "prometheus" / "tests"
    vanish = [p.name for p in tests_dir.glob("*.yaml") if "then the metrics vanish" in p.read_text()]
    assert vanish, "no generated test lets the metrics vanish mid-outage"
    document = yaml.safe_load((tests_dir / vanish[0]).read_text())
    group = next(t for t in document["tests"] if "then the metrics vanish" in t["name"])
    checks = [c["expr"] for c in group["promql_expr_test"]]
    assert any('alertname="SLOSLIMissing"' in c and 'slo_notify="page"' in c for c in checks), checks
    result = run(promtool, vanish, tests_dir)
    assert result.returncode == 0, result.stdout + result.stderr

    # Mutation: without the latch in the rules, the page resolves once the SLI is gone.
    rules_file = out / "prometheus" / "rules" / "api.yaml"
    rules = yaml.safe_load(rules_file.read_text())
    for rule_group in rules["groups"]:
        for rule in rule_group["rules"]:
            if "alert" in rule:
                rule["expr"] = rule["expr"].split("\nor\n")[0]
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    result = run(promtool, vanish, tests_dir)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and 'alertname=\\"SLOBurnRatePageFast\\"' in output, output
