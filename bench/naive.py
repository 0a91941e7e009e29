"""The naive rule set: every window read from raw series, as the popular SLO generators do.

Same groups, names, labels and alerts as sloforge's rules; only the error
ratios differ: `rate(raw[w])` per window, and the SLO window as the average of
the 5m ratios (unweighted by traffic). Also the rule file used to backfill
30 days of recorded 5m series with `promtool tsdb create-blocks-from rules`.
"""

from __future__ import annotations

import re

from generator.model.slo import SLO, EventsSLI, Model
from generator.spec.promql import substitute_window
from generator.targets import labels as L
from generator.targets.rules import (
    alert_rule,
    group_name,
    identity,
    metadata_rules,
    missing_sli_rule,
    recording_rules,
    windows_of,
)
from generator.targets.yaml_text import dump_yaml


def events_of(slo: SLO) -> EventsSLI:
    if not isinstance(slo.sli, EventsSLI) or slo.sli.errors is None:
        raise ValueError(f"{slo.key}: the naive rule set is built for events SLIs with errors")
    return slo.sli


def naive_ratio(slo: SLO, window: str) -> str:
    sli = events_of(slo)
    return f"{substitute_window(sli.errors or '', window)}\n/\n{substitute_window(sli.total, window)}"


def naive_recording_rules(slo: SLO) -> list[dict]:
    windows = windows_of(slo)
    base = windows[0]
    rules = [
        {"record": L.error_ratio_series(w.text), "expr": naive_ratio(slo, w.text), "labels": identity(slo, w)}
        for w in windows
        if w != slo.window
    ]
    short = f"{L.error_ratio_series(base.text)}{L.selector(slo.service, slo.name)}"
    rules.append(
        {
            # Sloth's period ratio: mean of the 5m ratios, each 5m counted alike whatever its traffic.
            "record": L.error_ratio_series(slo.window.text),
            "expr": f"sum_over_time({short}[{slo.window}])\n/\ncount_over_time({short}[{slo.window}])",
            "labels": identity(slo, slo.window),
        }
    )
    return rules


def naive_group(slo: SLO, model: Model) -> dict:
    settings = model.settings
    base = windows_of(slo)[0]
    missing = missing_sli_rule(slo, base, settings)
    missing["expr"] = f"absent({L.error_ratio_series(base.text)}{L.selector(slo.service, slo.name)})"
    return {
        "name": group_name(slo),
        "interval": settings.evaluation_interval.text,
        "rules": naive_recording_rules(slo)
        + metadata_rules(slo)
        + [alert_rule(slo, tier, settings) for tier in slo.tiers]
        + [missing],
    }


def render_naive(model: Model) -> dict[str, str]:
    """{relative path: rule file}, one file per service like sloforge's."""
    files = {}
    for service in model.services:
        groups = [naive_group(slo, model) for slo in service.slos]
        files[f"{service.name}.yaml"] = dump_yaml({"groups": groups}, "Naive rule set for the sloforge benchmark.")
    return files


def backfill_rules(model: Model, by: tuple[str, str] = ("service", "route")) -> str:
    """Recording rules whose 30-day history both rule sets read, all computed from raw series.

    sloforge's long windows read its recorded errors and totals; the naive SLO
    window reads the recorded 5m ratio. promtool cannot backfill rules that read
    other recorded series, so the 5m ratio here is the naive one (the same
    number as sloforge's). promtool runs one query per rule per 2h block, so
    the per-SLO expressions are batched into one `sum by` per series name: the
    same rates, with the bench's raw labels `by` mapped to slo_service and
    slo_name. `backfill_checks` compares them with the rendered expressions.
    """
    slos = model.slos
    windows = {windows_of(slo)[0].text for slo in slos}
    if len(windows) != 1:
        raise ValueError("the batched backfill needs one shortest window for all SLOs")
    (base,) = windows
    errors = {_strip_sum(substitute_window(events_of(slo).errors or "", base)) for slo in slos}
    totals = {_strip_sum(substitute_window(events_of(slo).total, base)) for slo in slos}
    err, tot = _batched(errors, by), _batched(totals, by)
    rules = [
        {"record": f"{L.ERRORS_RATE}{base}", "expr": _relabel(err, by), "labels": {L.WINDOW: base}},
        {"record": f"{L.TOTAL_RATE}{base}", "expr": _relabel(tot, by), "labels": {L.WINDOW: base}},
        {"record": L.error_ratio_series(base), "expr": _relabel(f"{err}\n/\n{tot}", by), "labels": {L.WINDOW: base}},
    ]
    return dump_yaml(
        {"groups": [{"name": "backfill", "interval": "1m", "rules": rules}]},
        "History for the benchmark: backfilled with promtool tsdb create-blocks-from rules.",
    )


def _strip_sum(query: str) -> str:
    """`sum(rate(m{a="x",b="y",...}[5m]))` -> `rate(m{...}[5m])` with the per-SLO matchers removed."""
    inner = query.strip()
    if not (inner.startswith("sum(") and inner.endswith(")")):
        raise ValueError(f"expected sum(rate(...)), got {query!r}")
    inner = inner[4:-1]
    return re.sub(r'(service|route)="[^"]*",?', "", inner).replace(",}", "}").replace("{}", "")


def _batched(queries: set[str], by: tuple[str, str]) -> str:
    if len(queries) != 1:
        raise ValueError(f"SLOs differ in more than their service/route matchers: {sorted(queries)[:2]}")
    return f"sum by ({', '.join(by)}) ({queries.pop()})"


def _relabel(expr: str, by: tuple[str, str]) -> str:
    service, route = by
    inner = f'label_replace(label_replace({expr}, "{L.SERVICE}", "$1", "{service}", "(.*)"), "{L.SLO}", "$1", "{route}", "(.*)")'
    return f"sum without ({service}, {route}) (\n{inner}\n)"


def backfill_checks(model: Model) -> list[tuple[str, str]]:
    """(rendered sloforge expression, recorded series) pairs that must agree on backfilled history."""
    pairs = []
    for slo in model.slos:
        ours = recording_rules(slo, windows_of(slo))[:2]
        for rule in ours:
            pairs.append((rule["expr"], f"{rule['record']}{L.selector(slo.service, slo.name)}"))
    return pairs
