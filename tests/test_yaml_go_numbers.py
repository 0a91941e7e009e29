"""Text that Go's YAML decoders read as a number must be quoted.

PyYAML follows YAML 1.1, where `1e3` or `0o17` are strings, so it writes them
plain. kubectl (sigs.k8s.io/yaml) and yaml.v3 read them as numbers, and the
API server then refuses a PrometheusRule whose label or annotation is `1e3`.
"""

from __future__ import annotations

import pytest
import yaml

from generator.targets.yaml_text import fast_dump, pyyaml_dump

GO_NUMBERS = ["1e3", "1E-5", "2e+10", "0o17", "0b101", "+inf", "-Inf", "+.5e3", "0x1p-2"]
STILL_PLAIN = ["5m", "1m", "page-fast", "v1.2.3", "1.2.3", "0.1.0-rc1", "e3", "inference", "1 - (x / 0.001)"]


@pytest.mark.parametrize("value", GO_NUMBERS)
def test_go_numbers_are_quoted(value):
    data = {"labels": {"k": value}, "list": [value]}
    text = fast_dump(data)
    assert text == pyyaml_dump(data)
    assert f"k: {value}\n" not in text and f"- {value}\n" not in text
    assert yaml.safe_load(text) == data


@pytest.mark.parametrize("value", STILL_PLAIN)
def test_ordinary_text_stays_plain(value):
    data = {"k": value}
    assert fast_dump(data) == pyyaml_dump(data) == f"k: {value}\n"
