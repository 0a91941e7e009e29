"""Inhibition derived from one severity order (`model.severity`): the most severe alert of an SLO speaks.

For every pair of alerts of one SLO where the source is strictly more severe
than the target, the source mutes the target, and only within that SLO
(`equal` on the SLO identity). A page is therefore never muted by a ticket or
by `SLOSLIMissing`. Pairs are merged into one rule per source tier; where SLOs
disagree on a pair's order (overridden windows), the rule is scoped per SLO.
"""

from __future__ import annotations

import re
from collections import defaultdict

from generator.model.severity import Rank, missing_sli_rank, tier_rank
from generator.model.slo import SLO, Model
from generator.targets import labels as L
from generator.targets.alertmanager.routes import Matcher

SAME_SLO = (L.SERVICE, L.SLO)


def slo_ranks(slo: SLO) -> dict[str, Rank]:
    """The SLO's alerts by their `slo_tier` label, with their severity rank."""
    ranks = {tier.name: tier_rank(tier) for tier in slo.tiers}
    ranks[L.MISSING_SLI_TIER] = missing_sli_rank(slo)
    return ranks


def mutes(slo: SLO) -> list[tuple[str, str]]:
    """(source, target) tier labels of one SLO where the source is strictly more severe."""
    ranks = slo_ranks(slo)
    return [(a, b) for a in sorted(ranks) for b in sorted(ranks) if ranks[a] > ranks[b]]


def inhibit_rules(model: Model) -> list[dict]:
    pairs: dict[tuple[str, str], list[SLO]] = defaultdict(list)
    for slo in model.slos:
        for pair in mutes(slo):
            pairs[pair].append(slo)
    everywhere: dict[str, list[str]] = defaultdict(list)  # source -> targets it mutes in every SLO
    scoped: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (source, service, slo) -> targets
    for (source, target), slos in sorted(pairs.items()):
        if (target, source) not in pairs:
            everywhere[source].append(target)
            continue
        for slo in slos:  # overridden windows flip the order for some SLOs: scope the rule
            scoped[(source, slo.service, slo.name)].append(target)
    rules = [_rule((Matcher(L.TIER, "=", source),), targets) for source, targets in sorted(everywhere.items())]
    rules += [
        _rule((Matcher(L.TIER, "=", source), Matcher(L.SERVICE, "=", service), Matcher(L.SLO, "=", name)), targets)
        for (source, service, name), targets in sorted(scoped.items())
    ]
    return rules


def _rule(source: tuple[Matcher, ...], targets: list[str]) -> dict:
    target = (
        Matcher(L.TIER, "=", targets[0])
        if len(targets) == 1
        else Matcher(L.TIER, "=~", "|".join(_literal(name) for name in targets))
    )
    return {"source_matchers": [m.text() for m in source], "target_matchers": [target.text()], "equal": list(SAME_SLO)}


def _literal(text: str) -> str:
    """Regex for exactly `text` (tier names are [a-z0-9-], so usually unchanged)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)
