"""Inhibition: the most urgent alert of an SLO speaks, the others wait.

- a firing page tier mutes the ticket tiers of the same SLO;
- a faster tier mutes the slower tiers of the same severity (same SLO);
- the missing-SLI alert mutes the burn alerts of its SLO (they are blind).
"""

from __future__ import annotations

import re
from collections import defaultdict

from generator.model.slo import SLO, Model
from generator.targets import labels as L
from generator.targets.alertmanager.routes import Matcher

SAME_SLO = (L.SERVICE, L.SLO)


def inhibit_rules(model: Model) -> list[dict]:
    rules: list[tuple[tuple[Matcher, ...], tuple[Matcher, ...], tuple[str, ...]]] = []
    if any(tier.notify == "page" for slo in model.slos for tier in slo.tiers) and any(
        tier.notify == "ticket" for slo in model.slos for tier in slo.tiers
    ):
        rules.append(
            (
                (Matcher(L.NOTIFY, "=", "page"),),
                (Matcher(L.NOTIFY, "=", "ticket"), Matcher(L.TIER, "!=", L.MISSING_SLI_TIER)),
                SAME_SLO,
            )
        )
    rules.extend(_faster_mutes_slower(model))
    burn_tiers = sorted({tier.name for slo in model.slos for tier in slo.tiers})
    if burn_tiers:
        rules.append(
            (
                (Matcher(L.ALERTNAME, "=", L.MISSING_SLI_ALERT),),
                (Matcher(L.TIER, "=~", "|".join(_literal(name) for name in burn_tiers)),),
                SAME_SLO,
            )
        )
    return [
        {
            "source_matchers": [m.text() for m in source],
            "target_matchers": [m.text() for m in target],
            "equal": list(equal),
        }
        for source, target, equal in rules
    ]


def _faster_mutes_slower(model: Model):
    """One rule per (faster, slower) tier pair; per SLO only where SLOs disagree on the order."""
    ordered: dict[tuple[str, str], list[SLO]] = defaultdict(list)
    for slo in model.slos:
        for faster, slower in _pairs(slo):
            ordered[(faster, slower)].append(slo)
    for (faster, slower), slos in sorted(ordered.items()):
        target = (Matcher(L.TIER, "=", slower),)
        if (slower, faster) not in ordered:
            yield ((Matcher(L.TIER, "=", faster),), target, SAME_SLO)
            continue
        for slo in slos:  # overridden windows flip the order for some SLOs: scope the rule
            source = (Matcher(L.TIER, "=", faster), Matcher(L.SERVICE, "=", slo.service), Matcher(L.SLO, "=", slo.name))
            yield (source, target, SAME_SLO)


def _literal(text: str) -> str:
    """Regex for exactly `text` (tier names are [a-z0-9-], so usually unchanged)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _pairs(slo: SLO) -> list[tuple[str, str]]:
    """(faster, slower) tier names of one SLO: same severity, strictly shorter long window."""
    pairs = []
    for faster in slo.tiers:
        for slower in slo.tiers:
            if faster.severity == slower.severity and faster.long_window < slower.long_window:
                pairs.append((faster.name, slower.name))
    return pairs
