"""Drafted prose attached to an SLO: LLM-written text that people review.

Loaded from `slo_specs/drafts/<service>.yaml` by `generator.ai.drafts` and
carried on the model, so renderers use it without touching files or network.
Every text here has already passed the checks in `generator.ai.checks`; text that is
not reviewed is only here when render was asked for it (--include-unreviewed-drafts).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertProse:
    """Annotation text for one tier's alert; None keeps the skeleton text."""

    tier: str
    summary: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Query:
    """An extra investigation query for the runbook."""

    title: str
    query: str


@dataclass(frozen=True)
class DraftedProse:
    alerts: tuple[AlertProse, ...] = ()
    likely_causes: tuple[str, ...] = ()
    triage: tuple[str, ...] = ()
    mitigation: tuple[str, ...] = ()
    investigation: tuple[Query, ...] = ()
    reviewed: bool = False  # reviewed, and the text unchanged since the review
    stale: bool = False  # the spec changed since the text was drafted
    withheld: str = ""  # why a draft's text is not used ("not reviewed", "edited after review"); no text then
    model: str = ""  # which model drafted it, or a note that people wrote it
    source: str = ""  # draft file, e.g. slo_specs/drafts/checkout.yaml

    def alert(self, tier: str) -> AlertProse | None:
        return next((alert for alert in self.alerts if alert.tier == tier), None)
