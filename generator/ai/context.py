"""What the model is told about one SLO, and the fingerprint of those inputs.

The fingerprint covers only spec-derived facts (not sloforge's own rendering
details), so a draft goes stale when the SLO changes, not when sloforge does.
"""

from __future__ import annotations

import hashlib
import json

from generator.model.slo import SLO, Model
from generator.targets import labels as L
from generator.targets.investigation import allowed_metrics, raw_queries, recorded_series
from generator.targets.rules import alert_labels
from generator.units.durations import Duration
from generator.units.numbers import format_number

FINGERPRINT_LENGTH = 16


def spec_facts(slo: SLO, model: Model) -> dict[str, object]:
    """The SLO as the spec defines it; the fingerprint is taken over this."""
    service = next((s for s in model.services if s.name == slo.service), None)
    return {
        "service": slo.service,
        "service_description": service.description if service else "",
        "slo": slo.name,
        "description": slo.description,
        "team": slo.team,
        "objective_percent": format_number(slo.objective),
        "window": slo.window.text,
        "sli": _sli_fields(slo),
        "tiers": [
            {
                "name": tier.name,
                "alert": tier.alert_name,
                "severity": tier.severity,
                "notify": tier.notify,
                "short_window": tier.short_window.text,
                "long_window": tier.long_window.text,
                "burn_rate_factor": format_number(tier.factor),
                "for": tier.for_.text,
            }
            for tier in slo.tiers
        ],
        "service_labels": dict(slo.labels),
    }


SLI_FIELDS = {
    "events": ("errors", "good", "total"),
    "latency": ("histogram", "selector", "threshold", "buckets"),
    "raw": ("error_ratio",),
    "bool_gauge": ("metric",),
}


def _sli_fields(slo: SLO) -> dict[str, object]:
    """The spec's SLI fields by name (a fixed list, so new model fields do not make drafts stale)."""
    result: dict[str, object] = {"kind": slo.sli.kind}
    for name in SLI_FIELDS[slo.sli.kind]:
        value = getattr(slo.sli, name, None)
        if value is None or value == ():
            continue
        result[name] = value.text if isinstance(value, Duration) else list(value) if isinstance(value, tuple) else value
    return result


def fingerprint(slo: SLO, model: Model) -> str:
    """Short stable hash of the spec facts a draft was written from."""
    text = json.dumps(spec_facts(slo, model), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def alert_label_names(slo: SLO) -> set[str]:
    """Labels a firing burn-rate alert of this SLO carries (what `$labels.x` may read)."""
    names = {L.WINDOW}
    for tier in slo.tiers:
        names |= set(alert_labels(slo, tier.name, tier.severity, tier.notify))
    return names


def prompt_context(slo: SLO, model: Model) -> dict[str, object]:
    """Everything the model sees about one SLO (spec facts plus rendering facts)."""
    return {
        **spec_facts(slo, model),
        "error_budget_ratio": format_number(slo.error_budget),
        "sli_queries": raw_queries(slo),
        "recorded_series": recorded_series(slo),
        "allowed_metrics": sorted(allowed_metrics(slo)),
        "alert_labels": sorted(alert_label_names(slo)),
    }
