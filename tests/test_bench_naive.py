"""The naive rule set: raw series for every window, same names and alerts as sloforge's rules."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from bench.naive import render_naive, unguarded
from bench.specs import eval_specs, write_specs
from bench.synth import SynthConfig, shapes
from generator.pipeline import load_model
from generator.spec.promql import vector_selectors
from generator.targets import render_all
from generator.targets.rules import RULES_DIR


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    specs = write_specs(eval_specs(shapes(SynthConfig(slos=5, pods=2, steps=10))), tmp_path_factory.mktemp("specs"))
    return load_model(specs)


def groups_of(files: dict[str, str]) -> dict[str, dict]:
    return {g["name"]: g for text in files.values() for g in yaml.safe_load(text)["groups"]}


def test_every_window_but_the_slo_window_reads_raw_series(model):
    for group in groups_of(render_naive(model)).values():
        records = [r for r in group["rules"] if r.get("record", "").startswith("slo:sli_error:ratio_rate")]
        for rule in records:
            window = rule["labels"]["slo_window"]
            if window == "30d":
                assert "count_over_time(slo:sli_error:ratio_rate5m{" in rule["expr"]
                assert "bench_http_requests_total" not in rule["expr"]
            else:
                assert rule["expr"].count("bench_http_requests_total{") == 2
                assert f"[{window}]" in rule["expr"]


def test_same_groups_and_alerts_as_sloforge_without_its_low_traffic_guard(model):
    ours = groups_of({p: t for p, t in render_all(unguarded(model)).items() if p.startswith(RULES_DIR)})
    naive = groups_of(render_naive(model))
    assert sorted(ours) == sorted(naive)
    for name, group in ours.items():
        burn = [r for r in group["rules"] if r.get("alert", "").startswith("SLOBurnRate")]
        theirs = [r for r in naive[name]["rules"] if r.get("alert", "").startswith("SLOBurnRate")]
        latch = ("absent(slo:sli_total:rate5m{", "absent(slo:sli_error:ratio_rate5m{")
        assert burn and [{**r, "expr": r["expr"].replace(*latch)} for r in burn] == theirs


def test_rule_files_pass_promtool(model, tmp_path, promtool):
    paths = []
    for name, text in render_naive(model).items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    done = subprocess.run([promtool, "check", "rules", *paths], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_recorded_series_the_naive_rules_read_is_recorded_by_them(model):
    """Sloforge's low-traffic guard reads its rungs (`slo:sli_errors:rate1h`), which the naive set never records:
    with it, the naive alerts could never fire (the detection table said Sloth never pages). Its blind-SLI latch
    reads `absent(slo:sli_total:rate5m)`, always true there: a firing naive alert would never resolve."""
    for group in groups_of(render_naive(model)).values():
        recorded = {rule["record"] for rule in group["rules"] if "record" in rule}
        for rule in group["rules"]:
            read = {name for name, _ in vector_selectors(rule["expr"]) if name.startswith("slo:")}
            assert read <= recorded, (rule.get("alert") or rule.get("record"), read - recorded)
