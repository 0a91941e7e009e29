"""Generated spec files for the render benchmark: valid sloforge input of the size asked for."""

from __future__ import annotations

from collections import Counter

from bench.specs import mixed_specs, write_specs
from generator.pipeline import load_model


def test_mixed_specs_load_with_every_sli_kind(tmp_path):
    model = load_model(write_specs(mixed_specs(23, per_service=10), tmp_path))
    assert len(model.slos) == 23
    assert len(model.services) == 3  # 10 + 10 + 3
    kinds = Counter(slo.sli.kind for slo in model.slos)
    assert set(kinds) == {"events", "latency", "raw", "bool_gauge"}
    assert {slo.window.text for slo in model.slos} == {"30d", "28d", "7d"}


def test_rewriting_a_spec_dir_drops_old_files(tmp_path):
    write_specs(mixed_specs(30), tmp_path)
    write_specs(mixed_specs(5), tmp_path)
    assert len(load_model(tmp_path).slos) == 5
