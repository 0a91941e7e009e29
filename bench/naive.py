"""The naive rule set: every window read from raw series, as the popular SLO generators do.

Same groups, names, labels and alerts as sloforge's rules; only the error
ratios differ: `rate(raw[w])` per window, and the SLO window as the average of
the 5m ratios (unweighted by traffic). Its 30 days of 5m ratios are backfilled
with sloforge's history (`bench.recorded`).
"""

from __future__ import annotations

from dataclasses import replace

from generator.model.slo import SLO, EventsSLI, Model
from generator.spec.promql import substitute_window
from generator.targets import labels as L
from generator.targets.rules import (
    alert_rule,
    group_name,
    identity,
    metadata_rules,
    missing_sli_rule,
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


def unguarded(model: Model) -> Model:
    """The model with sloforge's low-traffic guards off: Sloth has none, and they read rungs naive never records."""
    services = tuple(
        replace(
            service,
            slos=tuple(
                replace(slo, min_total_events=0, tiers=tuple(replace(tier, min_bad_events=0) for tier in slo.tiers))
                for slo in service.slos
            ),
        )
        for service in model.services
    )
    return replace(model, services=services)


def naive_group(slo: SLO, model: Model) -> dict:
    settings = model.settings
    base = windows_of(slo)[0]
    sel = L.selector(slo.service, slo.name)
    missing = missing_sli_rule(slo, base, settings)
    # naive records no 5m total: "no data" is its 5m ratio missing, for SLOSLIMissing and the alerts' blind-SLI latch
    no_data = (f"absent({L.TOTAL_RATE}{base}{sel})", f"absent({L.error_ratio_series(base.text)}{sel})")
    missing["expr"] = no_data[1]
    alerts = [alert_rule(slo, tier, settings) for tier in slo.tiers]
    return {
        "name": group_name(slo),
        "interval": settings.evaluation_interval.text,
        "rules": naive_recording_rules(slo)
        + metadata_rules(slo)
        + [{**alert, "expr": alert["expr"].replace(*no_data)} for alert in alerts]
        + [missing],
    }


def render_naive(model: Model) -> dict[str, str]:
    """{relative path: rule file}, one file per service like sloforge's (its alerts without the low-traffic guard)."""
    files = {}
    for service in unguarded(model).services:
        groups = [naive_group(slo, model) for slo in service.slos]
        files[f"{service.name}.yaml"] = dump_yaml({"groups": groups}, "Naive rule set for the sloforge benchmark.")
    return files
