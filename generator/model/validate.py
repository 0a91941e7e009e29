"""The whole semantic check of a spec set: the spec layer's document checks and the checks of resolved tiers.

Tier resolution (defaults, Policy overrides, an SLO's `alerting:` block) is
the model's, so the checks that need resolved tiers live here and the spec
layer never imports the model (docs/design.md, layers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from generator.model.policy import DEFAULT_TIERS, TierPolicy, global_tiers, slo_tiers
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.load import SpecSet, did_you_mean
from generator.spec.schema import SLOSpec
from generator.spec.validate import (
    NOTIFY_CLASSES,
    document_errors,
    evaluation_interval,
    policy_errors,
    slo_specs,
    slo_window,
)
from generator.spec.yaml_source import Document, PathKey

# A check that needs later stages (e.g. rendered names), run by the pipeline within `validate`.
ExtraCheck = Callable[[SpecSet, tuple[TierPolicy, ...]], list[SpecError]]


def validate(specs: SpecSet, extra_checks: Sequence[ExtraCheck] = ()) -> None:
    """Raise SpecErrors with every semantic problem of the spec set, extra checks' included."""
    interval = evaluation_interval(specs)
    policy = policy_errors(specs, interval, {tier.name for tier in DEFAULT_TIERS})
    base = global_tiers(specs) if not policy else DEFAULT_TIERS
    errors = policy + document_errors(specs, interval)
    for check in extra_checks:
        errors += check(specs, base)
    for src, path, slo, _labels in slo_specs(specs):
        errors += _slo_tier_errors(src, path, slo, base)
    if errors:
        raise SpecErrors(errors)


def _slo_tier_errors(src: Document, path: PathKey, slo: SLOSpec, base: tuple[TierPolicy, ...]) -> list[SpecError]:
    """Tier names the SLO's `alerting:` block may use, and each enabled tier's windows against the SLO's."""
    errors: list[SpecError] = []
    known = sorted({tier.name for tier in base} | set(NOTIFY_CLASSES))
    for name in slo.alerting:
        if name not in known:
            errors.append(
                src.error(
                    path + ("alerting", name),
                    f"unknown tier {name!r}{did_you_mean(name, known)}; expected one of {', '.join(known)}",
                    at_key=True,
                )
            )
    window = slo_window(slo.window)
    if window is None:
        return errors  # the window's own problem is reported by the document checks
    for tier in slo_tiers(base, slo):
        if not tier.enabled:
            continue
        key = next((k for k in (tier.name, tier.notify) if k in slo.alerting), None)
        where = path + ("alerting", key) if key else path + ("window",)
        if tier.long_window >= window:
            errors.append(
                src.error(
                    where,
                    f"tier {tier.name!r}: long window {tier.long_window} must be shorter than the SLO window {slo.window} (shorten it, or disable the tier under alerting:)",
                )
            )
        if tier.short_window >= tier.long_window:
            errors.append(
                src.error(
                    where,
                    f"tier {tier.name!r}: short window {tier.short_window} must be shorter than its long window {tier.long_window}",
                )
            )
    return errors
