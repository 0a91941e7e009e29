"""bench.whatif picks the ladder's rungs out of the rendered rules, and nothing else."""

from __future__ import annotations

import yaml

from bench.whatif import PLAN, rung_rules
from generator.targets import render_all
from generator.targets.rules import RULES_DIR


def test_the_rungs_are_picked_and_the_raw_reads_are_not(example_model):
    groups = [
        group
        for path, text in render_all(example_model).items()
        if path.startswith(RULES_DIR)
        for group in yaml.safe_load(text)["groups"]
    ]
    rungs = rung_rules(groups)
    assert rungs and {record.rsplit("rate", 1)[1] for record in rungs} <= set(PLAN)
    assert "slo:sli_errors:rate1h" in rungs and "slo:sli_total:rate3d" in rungs
    assert "slo:sli_errors:rate5m" not in rungs  # exact reads use `offset` too, but are no rung
