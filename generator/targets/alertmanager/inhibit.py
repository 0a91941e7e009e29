"""Inhibition derived from one severity order (`model.severity`): the most severe alert of an SLO speaks.

For every pair of alerts of one SLO where the source is strictly more severe
than the target, the source mutes the target, and only within that SLO
(`equal` on the SLO identity and every grouping label, so one route's page
never mutes another route's ticket: docs/grouping.md). A page is therefore never muted by a ticket or
by `SLOSLIMissing`. Alerts are told apart by tier and class (`slo_notify`), so
SLOs that page and SLOs that only ticket agree on every pair; pairs are merged
into one rule per source and target class. Where SLOs disagree on a pair's
order (overridden windows reverse it, or tie it), the rule is scoped to the
SLOs it holds for.
"""

from __future__ import annotations

import re
from collections import defaultdict

from generator.model.severity import Rank, budget_freeze_rank, missing_sli_class, missing_sli_rank, tier_rank
from generator.model.slo import SLO, Model
from generator.targets import labels as L
from generator.targets.alertmanager.routes import Matcher

SAME_SLO = (L.SERVICE, L.SLO)
Key = tuple[str, str]  # (slo_tier, slo_notify): the class is in the key, so SLOs that page and SLOs
# that only ticket agree on every pair, and their rules need no per-SLO scope


def slo_ranks(slo: SLO) -> dict[str, Rank]:
    """The SLO's alerts by their `slo_tier` label, with their severity rank."""
    return {tier: rank for (tier, _), rank in _keyed_ranks(slo).items()}


def _keyed_ranks(slo: SLO) -> dict[Key, Rank]:
    ranks: dict[Key, Rank] = {(tier.name, tier.notify): tier_rank(tier) for tier in slo.tiers}
    ranks[(L.MISSING_SLI_TIER, missing_sli_class(slo)[0])] = missing_sli_rank(slo)
    if any(stage.freeze for stage in slo.budget_stages):
        ranks[(L.BUDGET_FREEZE_TIER, "ticket")] = budget_freeze_rank()
    return ranks


def mutes(slo: SLO) -> list[tuple[Key, Key]]:
    """(source, target) alerts of one SLO where the source is strictly more severe."""
    ranks = _keyed_ranks(slo)
    return [(a, b) for a in sorted(ranks) for b in sorted(ranks) if ranks[a] > ranks[b]]


def inhibit_rules(model: Model) -> list[dict]:
    pairs: dict[tuple[Key, Key], list[SLO]] = defaultdict(list)
    for slo in model.slos:
        for pair in mutes(slo):
            pairs[pair].append(slo)
    # (source matchers, target notify) -> target tiers
    merged: dict[tuple[tuple[Matcher, ...], str], list[str]] = defaultdict(list)
    for (source, target), slos in sorted(pairs.items()):
        matchers = _key_matchers(source)
        scopes = [_scope(slo) for slo in slos] if _disputed(model, source, target, slos) else [()]
        for scope in scopes:  # overridden windows flip or tie the order for some SLOs: scope the rule to the others
            merged[(matchers + scope, target[1])].append(target[0])
    ordered = sorted(merged.items(), key=lambda item: (len(item[0][0]), [m.text() for m in item[0][0]], item[0][1]))
    equal = same_alert_group(model)
    return [_rule(source, notify, tiers, equal) for (source, notify), tiers in ordered]


def _disputed(model: Model, source: Key, target: Key, holders: list[SLO]) -> bool:
    """Some SLO has both alerts but does not let `source` mute `target` (reversed or tied ranks, e.g. two page
    tiers with the same long window): an unscoped rule would mute its more severe or equal alert."""
    held = {slo.key for slo in holders}
    return any(slo.key not in held and {source, target} <= set(_keyed_ranks(slo)) for slo in model.slos)


def same_alert_group(model: Model) -> list[str]:
    """`equal` labels: the SLO identity, then every grouping label in use.

    An alert without a label has it empty on both sides, so ungrouped SLOs
    (and SLOs grouped by other labels) still match on their identity alone.
    """
    grouping = sorted({label for slo in model.slos for label in slo.grouping})
    return [*SAME_SLO, *grouping]


def _key_matchers(key: Key) -> tuple[Matcher, ...]:
    return (Matcher(L.TIER, "=", key[0]), Matcher(L.NOTIFY, "=", key[1]))


def _scope(slo: SLO) -> tuple[Matcher, ...]:
    return (Matcher(L.SERVICE, "=", slo.service), Matcher(L.SLO, "=", slo.name))


def _rule(source: tuple[Matcher, ...], notify: str, tiers: list[str], equal: list[str]) -> dict:
    tier = (
        Matcher(L.TIER, "=", tiers[0])
        if len(tiers) == 1
        else Matcher(L.TIER, "=~", "|".join(_literal(name) for name in tiers))
    )
    return {
        "source_matchers": [m.text() for m in source],
        "target_matchers": [tier.text(), Matcher(L.NOTIFY, "=", notify).text()],
        "equal": list(equal),
    }


def _literal(text: str) -> str:
    """Regex for exactly `text` (tier names are [a-z0-9-], so usually unchanged)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)
