"""The fast YAML emitter must write exactly what PyYAML writes, or defer to it."""

from __future__ import annotations

import pytest
import yaml

from generator.output import read_tree
from generator.targets.yaml_text import dump_yaml, fast_dump, pyyaml_dump

TRICKY = [
    "yes", "no", "on", "1", "1.5", "~", "null", "", " x", "x ", "a: b", "a #b", "#x", "-x", "- x", "x:",
    "{a}", "[a]", "'q'", '"q"', "é", "l1\n", "a\tb", "@x", "`x", "!x", "&x", "*x", "%x", "|x", ">x", "?x",
    ",x", "0x1F", "2024-01-01", "1e3", ".inf", "=", "<x>", "line1\nline2", "a\n\nb\n", "x{{ $value }}", "long " * 400,
    'sum(rate(x{a=~"5.."}[5m])) / 0.001 > 14.4', "slo:sli_error:ratio_rate5m", "a:b", "a#b",
]  # fmt: skip


@pytest.mark.parametrize("value", TRICKY)
def test_scalars_match_pyyaml(value):
    data = {"key": value, "list": [value, {"nested": value}]}
    assert fast_dump(data) == pyyaml_dump(data)
    assert yaml.safe_load(fast_dump(data)) == data


def test_odd_text_falls_back_to_pyyaml():
    data = {"key": " leading space\nsecond line"}
    with pytest.raises(TypeError):
        fast_dump(data)
    assert yaml.safe_load(dump_yaml(data)) == data


def test_every_rendered_yaml_file_matches_pyyaml(rendered_dir):
    for path, text in read_tree(rendered_dir).items():
        if path.endswith((".yaml", ".yml")):
            data = yaml.safe_load(text)
            assert fast_dump(data) == pyyaml_dump(data), path
