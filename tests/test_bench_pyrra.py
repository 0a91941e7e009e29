"""The Pyrra-shaped rule set in the cost bench: Pyrra's intervals and its one grouped increase rule."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from bench.evaluation import per_minute
from bench.pyrra import INCREASE_RECORD, increase_interval, pyrra_window_ratio, render_pyrra
from bench.specs import eval_specs, write_specs
from bench.synth import SynthConfig, shapes
from generator.pipeline import load_model

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    specs = write_specs(eval_specs(shapes(SynthConfig(slos=3, pods=2, steps=10))), tmp_path_factory.mktemp("specs"))
    return load_model(specs)


@pytest.mark.parametrize(
    ("days", "interval"), [(1, "30s"), (7, "1m"), (14, "1m30s"), (28, "2m30s"), (30, "2m30s"), (90, "4m")]
)
def test_increase_interval_follows_pyrra(days, interval):
    assert increase_interval(days * DAY_MS) == interval


def test_pyrra_intervals_and_one_grouped_increase_rule(model):
    groups = [g for text in render_pyrra(model, pyrra_intervals=True).values() for g in yaml.safe_load(text)["groups"]]
    burn = [g for g in groups if not g["name"].endswith("-increase")]
    increase = [g for g in groups if g["name"].endswith("-increase")]
    assert len(burn) == len(increase) == len(model.slos)
    assert {g["interval"] for g in burn} == {"30s"} and {g["interval"] for g in increase} == {"2m30s"}
    for group in increase:
        (rule,) = group["rules"]
        assert rule["record"] == f"{INCREASE_RECORD}30d"
        assert rule["expr"].startswith("sum by (code) (increase(bench_http_requests_total{")
        assert rule["expr"].endswith("[30d]))") and "code=~" not in rule["expr"]
    slo = model.slos[0]
    assert pyrra_window_ratio(slo).count(f"{INCREASE_RECORD}30d{{") == 2


def test_default_shape_keeps_the_spec_interval(model):
    groups = [g for text in render_pyrra(model).values() for g in yaml.safe_load(text)["groups"]]
    assert {g["interval"] for g in groups} == {"1m"}


def test_pyrra_rules_pass_promtool(model, tmp_path, promtool):
    paths = []
    for name, text in render_pyrra(model, pyrra_intervals=True).items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    done = subprocess.run([promtool, "check", "rules", *paths], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cost_per_minute_scales_each_group_by_its_interval():
    groups = [
        {"interval": 30, "evaluationTime": 0.1, "rules": [{"name": "a", "evaluationTime": 0.1}]},
        {
            "interval": 150,
            "evaluationTime": 1.0,
            "rules": [{"name": "b", "evaluationTime": 0.6}, {"name": "a", "evaluationTime": 0.4}],
        },
        {"interval": 60, "evaluationTime": 0.5, "rules": [{"name": "a", "evaluationTime": 0.5}]},
    ]
    total, by_rule = per_minute(groups)
    assert total == pytest.approx(0.2 + 0.4 + 0.5)
    assert by_rule == pytest.approx({"a": 0.2 + 0.16 + 0.5, "b": 0.24})
