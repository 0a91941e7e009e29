"""The backfilled history of sloforge's ladder: every rung must be the exact window rate the rules would record."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import yaml

from bench import recorded
from bench.specs import eval_specs, write_specs
from bench.synth import BLOCK, DAY, ERROR_CODES, SynthConfig, all_counters, shapes
from generator.pipeline import load_model
from generator.targets import render_all

LINE = re.compile(r"^([a-z_:0-9]+)\{([^}]*)\} (\S+) (\d+)$")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    # 4 days on a 1m grid: enough for the 3d rung to be full at the end
    config = SynthConfig(slos=2, pods=2, start=1_700_000_000 // BLOCK * BLOCK, steps=4 * 1440 + 60, step=60)
    slos = all_counters(config)
    model = load_model(write_specs(eval_specs(shapes(config)), tmp_path_factory.mktemp("specs")))
    first = 10
    return config, slos, model, first, recorded.all_history(slos, config, model, first)


def cumulative(slo, kind: str) -> np.ndarray:
    codes = ERROR_CODES if kind == "errors" else tuple(slo.by_code)
    return sum(np.frombuffer(slo.by_code[code], dtype=np.int64).astype(np.float64) for code in codes)


def test_plan_is_the_ladder_of_the_rendered_rules(setup):
    config, slos, model, first, history = setup
    rendered = {
        (rule["record"], tuple(sorted(rule["labels"].items())))
        for path, text in render_all(model).items()
        if path.startswith("prometheus/rules/")
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    for key in history:
        name, labels = key.split("{", 1)
        pairs = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels)))
        assert (name, pairs) in rendered, key
    windows = [rung.label for rung in recorded.rung_plan(model.slos[0])]
    assert windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert len(history) == len(slos) * (2 * len(windows) + 1)


@pytest.mark.parametrize("window", ["5m", "30m", "1h", "2h", "6h", "1d", "3d"])
def test_a_full_rung_is_the_exact_rate_over_its_window(setup, window):
    """Tiles of the rung below cover (t - w, t] exactly: the rung equals the counters' increase / w."""
    config, slos, _, _, history = setup
    seconds = {"m": 60, "h": 3600, "d": DAY}[window[-1]] * int(window[:-1])
    span = seconds // config.step
    slo = slos[1]
    labels = f'{{slo_service="{slo.shape.service}",slo_name="{slo.shape.slo}",slo_window="{window}"}}'
    for kind, name in (("errors", "slo:sli_errors:rate"), ("total", "slo:sli_total:rate")):
        values = history[f"{name}{window}{labels}"]
        counts = cumulative(slo, kind)
        for k in (config.steps - 1, config.steps - 1 - 37, 3 * 1440 + 25):
            exact = (counts[k] - counts[k - span]) / seconds
            assert values[k] == pytest.approx(exact, rel=1e-12, abs=1e-15), (kind, k)


def test_missing_lookups_count_as_zero_and_nothing_is_recorded_before_the_first_evaluation(setup):
    config, slos, _, first, history = setup
    slo = slos[0]
    sel = f'slo_service="{slo.shape.service}",slo_name="{slo.shape.slo}"'
    five = history[f'slo:sli_total:rate5m{{{sel},slo_window="5m"}}']
    thirty = history[f'slo:sli_total:rate30m{{{sel},slo_window="30m"}}']
    assert np.isnan(five[:first]).all() and np.isnan(thirty[:first]).all()
    # at the first evaluation only the newest of the 6 tiles exists: the others count as 0
    assert thirty[first] == five[first] / 6
    assert not np.isnan(thirty[first:]).any()


def test_ratio_is_errors_over_total(setup):
    config, slos, _, first, history = setup
    slo = slos[0]
    sel = f'slo_service="{slo.shape.service}",slo_name="{slo.shape.slo}",slo_window="5m"'
    ratio = history[f"slo:sli_error:ratio_rate5m{{{sel}}}"]
    errors = history[f"slo:sli_errors:rate5m{{{sel}}}"]
    total = history[f"slo:sli_total:rate5m{{{sel}}}"]
    k = config.steps - 1
    assert ratio[k] == errors[k] / total[k]


def test_openmetrics_lines_keep_families_together_and_values_exact(setup):
    config, _, _, first, history = setup
    text = recorded.openmetrics_lines(history, config, first - 2, first + 3)
    names, values = [], {}
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, line
        name, labels, value, ts = match.groups()
        if not names or names[-1] != name:
            assert name not in names, f"{name} is interleaved with another family"
            names.append(name)
        values[(name, labels, int(ts))] = float(value)
    # nothing before the first evaluation; 4 samples (first..first+3) per series
    assert len(values) == 4 * len(history)
    key = next(iter(sorted(history)))
    name, labels = key[:-1].split("{", 1)
    assert values[(name, labels, config.time_of(first + 1))] == history[key][first + 1]
    assert all(not math.isnan(v) for v in values.values())
