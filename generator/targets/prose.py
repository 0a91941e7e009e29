"""Alert summary and description: the drafted text when a draft exists, else the skeleton.

Drafted text comes from `slo.drafted` (loaded and checked by `generator.ai.drafts`);
the skeleton is what sloforge writes without any draft.
"""

from __future__ import annotations

from generator.model.slo import SLO, Tier
from generator.units.numbers import format_number


def escape_template(text: str) -> str:
    """User prose must not be executed as a Go template by Prometheus."""
    return text.replace("{{", '{{ "{{" }}')


def skeleton_summary(slo: SLO, tier: Tier) -> str:
    return f"{slo.service}/{slo.name}: error budget burn ({tier.name})"


def skeleton_description(slo: SLO, tier: Tier) -> str:
    objective = format_number(slo.objective)
    factor = format_number(tier.factor)
    share = format_number(tier.budget_share * 100)
    return (
        f"{escape_template(slo.description or slo.name)}. "
        f"Burning the error budget at {{{{ $value | humanize }}}}x the sustainable rate over {tier.short_window}, "
        f"and above {factor}x over {tier.long_window}. "
        f"Objective {objective}% over {slo.window}; this tier fires after {share}% of the budget is spent."
    )


def tier_summary(slo: SLO, tier: Tier) -> str:
    """The drafted summary if there is one, else the skeleton's: what the tier's alert is about."""
    drafted = slo.drafted.alert(tier.name) if slo.drafted else None
    return drafted.summary if drafted and drafted.summary else skeleton_summary(slo, tier)


def alert_prose(slo: SLO, tier: Tier) -> dict[str, str]:
    """`summary` and `description` annotations of one tier's alert; a grouped SLO's name the group that burns."""
    drafted = slo.drafted.alert(tier.name) if slo.drafted else None
    summary = tier_summary(slo, tier)
    description = drafted.description if drafted and drafted.description else skeleton_description(slo, tier)
    if slo.grouping:
        summary = f"{summary} [{group_text(slo)}]"
        description = f"Group {group_text(slo)}: {description}"
    return {"summary": summary, "description": description}


def group_text(slo: SLO) -> str:
    """`route={{ $labels.route }}`: Prometheus prints the firing group's values (label values are not expanded)."""
    return ", ".join(f"{label}={{{{ $labels.{label} }}}}" for label in slo.grouping)
