"""One events SLO over `requests_total`, for promtool tests of rendered rules against hand-built counters."""

from __future__ import annotations

from pathlib import Path

import yaml

from generator.pipeline import load_model
from generator.targets.rules import render_rules
from generator.tools.promtool_tests import run_rule_test
from generator.tools.runner import ToolResult

SPEC = """apiVersion: sloforge/v1
kind: Service
service: shop
team: shop
description: Shop checkout
slos:
  - name: checkout
    description: Checkout requests succeed
    objective: 99.9
    window: 30d
    sli:
      events:
        errors: sum(rate(requests_total{code="500"}[{{.window}}]))
        total: sum(rate(requests_total[{{.window}}]))
"""
TEAMS = """apiVersion: sloforge/v1
kind: Teams
teams:
  shop:
    page: {slack: {channel: "#p", api_url_file: /etc/alertmanager/secrets/slack}}
    ticket: {slack: {channel: "#t", api_url_file: /etc/alertmanager/secrets/slack}}
"""
SELECTOR = '{slo_service="shop",slo_name="checkout"}'


GOOD_SPEC = SPEC.replace('errors: sum(rate(requests_total{code="500"}', 'good: sum(rate(requests_total{code="200"}')


def shop_rules(specs: Path, spec: str = SPEC) -> str:
    """The rendered rule file of the shop SLO (specs is a new directory to write the spec into)."""
    specs.mkdir(parents=True, exist_ok=True)
    (specs / "shop.yaml").write_text(spec, encoding="utf-8")
    (specs / "teams.yaml").write_text(TEAMS, encoding="utf-8")
    (text,) = render_rules(load_model(specs)).files.values()
    return text


def counter(increments: list[float], missing: range = range(0)) -> str:
    """promtool input values of a counter growing by `increments` per step, `_` (no sample) at `missing` steps."""
    values, total = [], 0.0
    for step, increment in enumerate(increments):
        total += increment
        values.append("_" if step in missing else f"{total:g}")
    return " ".join(values)


def run_expr_test(
    directory: Path,
    name: str,
    series: list[dict],
    checks: list[dict],
    *,
    rules: str = "groups: []\n",
    interval: str = "1m",
    evaluation_interval: str = "1m",
) -> ToolResult:
    """promtool's `checks` (promql_expr_test) over input `series` and `rules`, as `<name>.test.yaml` in `directory`."""
    (directory / f"{name}.rules.yaml").write_text(rules, encoding="utf-8")
    document = {
        "rule_files": [f"{name}.rules.yaml"],
        "evaluation_interval": evaluation_interval,
        "tests": [{"interval": interval, "input_series": series, "promql_expr_test": checks}],
    }
    path = directory / f"{name}.test.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return run_rule_test(path)
