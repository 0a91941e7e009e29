"""Alert-quality warnings: valid specs whose alerts would not do what people expect.

Pure checks on the model. `render` and `explain` print them (exit 0); with
`--strict` they are errors. Renderers may add their own (e.g. an SLO whose
rule tests cannot be generated) using the same type.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator.model.low_traffic import smallest_page
from generator.model.slo import SLO, Model
from generator.units.durations import human_duration
from generator.units.numbers import format_number

WORKBOOK_LOW_TRAFFIC_ADVICE = (
    "The SRE Workbook suggests generating synthetic traffic, combining services into one SLO, "
    "making the product tolerate single failures (retries), or lowering the objective or "
    "lengthening the window"
)


@dataclass(frozen=True, order=True)
class SpecWarning:
    source: str  # spec file the SLO comes from
    slo: str  # service/slo
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.slo}: {self.message}"


def percent(ratio: Decimal) -> str:
    return format_number(ratio * 100) + "%"


def slo_warnings(slo: SLO) -> list[SpecWarning]:
    found = []
    for tier in slo.tiers:
        if tier.threshold >= 1:
            found.append(
                SpecWarning(
                    slo.source,
                    slo.key,
                    f"tier {tier.name} can never fire: its burn factor {format_number(tier.factor)} x the error "
                    f"budget {percent(slo.error_budget)} is an error ratio of {percent(tier.threshold)}, "
                    "which even a full outage cannot exceed; a stricter objective, a smaller budget_share or a "
                    f"longer long_window (now {tier.long_window}) lowers the threshold, or disable the tier",
                )
            )
    if slo.expected_rate is not None:
        found += _low_traffic(slo, slo.expected_rate)
    return found


def _low_traffic(slo: SLO, rate: Decimal) -> list[SpecWarning]:
    """One failed request burns 1 / (rate x window x budget) of the budget; a page tier fires at its share.

    With the low-traffic guard on, such a tier pages on its `min_bad_events`
    instead (the ratio says nothing at this traffic): the warning says how
    big the smallest page is. A tier whose long window cannot even hold that
    many events at the expected rate is blind.
    """
    events = rate * Decimal(slo.window.millis) / 1000
    per_failure = 1 / (events * slo.error_budget)
    found = []
    for tier in slo.tiers:
        in_window = rate * Decimal(tier.long_window.millis) / 1000
        about = format_number(in_window.quantize(Decimal("0.1")).normalize())
        smallest = smallest_page(slo, tier)
        if smallest is not None and smallest.blind and tier.threshold < 1:
            found.append(
                SpecWarning(
                    slo.source,
                    slo.key,
                    f"low traffic: at the expected {format_number(rate)} events/s {tier.name} is blind: its "
                    f"{tier.long_window} window holds about {about} events, fewer than its min_bad_events "
                    f"{tier.min_bad_events}, so even a full outage cannot fire it; lower min_bad_events, lengthen "
                    f"its long_window, or add traffic. {WORKBOOK_LOW_TRAFFIC_ADVICE}",
                )
            )
            continue
        if tier.notify != "page" or per_failure <= tier.budget_share:
            continue
        spent = (
            f"low traffic: at the expected {format_number(rate)} events/s one failed event spends "
            f"{float(per_failure) * 100:.3g}% of the error budget, more than the {percent(tier.budget_share)} "
            f"after which {tier.name} pages; "
        )
        if tier.min_bad_events >= 2 and smallest is not None:
            consequence = (
                f"its ratio means little at about {about} events per {tier.long_window}: the low-traffic guard "
                f"pages from {tier.min_bad_events} bad events in {tier.long_window} (min_bad_events), "
                f"a full outage of {human_duration(smallest.outage_seconds)} at the expected rate. "
            )
        else:
            consequence = f"with about {about} events per {tier.long_window}, a single failure can page. "
        found.append(SpecWarning(slo.source, slo.key, spent + consequence + WORKBOOK_LOW_TRAFFIC_ADVICE))
    return found


def _secret_files(node: object) -> list[str]:
    """`*_file` paths in a receiver's fields, at any depth (http_config included)."""
    if isinstance(node, dict):
        own = [value for key, value in node.items() if str(key).endswith("_file") and isinstance(value, str)]
        return own + [path for value in node.values() for path in _secret_files(value)]
    if isinstance(node, list | tuple):
        return [path for item in node for path in _secret_files(item)]
    return []


def shared_secret_warnings(model: Model) -> list[SpecWarning]:
    """Two teams reading one secret file: either can send as the other (and rotating it hits both)."""
    users: dict[str, dict[str, str]] = {}  # path -> team -> source
    for team in model.teams:
        for _, receivers in team.receivers:
            for receiver in receivers:
                for path in _secret_files(dict(receiver.config)):
                    users.setdefault(path, {})[team.name] = team.source
    found = []
    for path, teams in sorted(users.items()):
        if len(teams) > 1:
            names = sorted(teams)
            found.append(
                SpecWarning(
                    teams[names[0]],
                    "secrets",
                    f"teams {', '.join(names)} all read the secret file {path}; give each team its own file "
                    f"(settings.secrets_dir: {model.settings.secrets_dir.rstrip('/')}/{{team}} enforces it)",
                )
            )
    return found


def grouping_warnings(model: Model) -> list[SpecWarning]:
    """A grouped SLO that declares more groups than the Policy's threshold: its series multiply (docs/grouping.md)."""
    limit = model.settings.max_groups_warning
    return [
        SpecWarning(
            slo.source,
            slo.key,
            f"max_groups {slo.max_groups} is above {limit} (settings.max_groups_warning): every recorded series "
            f"and every alert of this SLO exists once per {', '.join(slo.grouping)} value, so it costs about "
            f"{slo.max_groups} times an ungrouped SLO in Prometheus; group by fewer labels or raise the setting",
        )
        for slo in model.slos
        if slo.grouping and slo.max_groups is not None and slo.max_groups > limit
    ]


def model_warnings(model: Model) -> list[SpecWarning]:
    return sorted(
        [warning for slo in model.slos for warning in slo_warnings(slo)]
        + shared_secret_warnings(model)
        + grouping_warnings(model)
    )
