"""Runbooks: one Markdown file per SLO covering all its alerts (pure: model -> text).

Facts (queries, thresholds, timings, receivers) always come from the model;
prose sections use drafted text when there is a trusted draft (`slo.drafted`;
unreviewed text only with `render --include-unreviewed-drafts`, under a warning)
and a skeleton otherwise, so every alert's `runbook_url` resolves to a file even
before anyone drafted anything. Spec text is escaped (`targets.markdown`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import assert_never

import jinja2

from generator.model.severity import missing_sli_class
from generator.model.slo import SLO, BoolGaugeSLI, EventsSLI, LatencySLI, Model, RawSLI, Receiver, Team
from generator.model.workbook import tier_facts
from generator.targets import labels as L
from generator.targets.investigation import (
    budget_remaining_query,
    burn_rate_query,
    error_ratio_query,
    raw_queries,
)
from generator.targets.links import RUNBOOKS_DIR, dashboard_url, runbook_path
from generator.targets.markdown import md_code, md_inline, md_item
from generator.targets.prose import tier_summary
from generator.targets.rendered import Rendered
from generator.targets.rules import windows_of
from generator.units.durations import human_duration
from generator.units.numbers import format_number

INDEX_PATH = f"{RUNBOOKS_DIR}/README.md"

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("generator.targets", "templates/runbooks"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # Markdown, not HTML; drafted text is checked to contain no markup
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(md=md_inline, md_code=md_code, md_item=md_item)  # spec text is literal; drafted items one line


def render_runbooks(model: Model) -> Rendered:
    tree = {runbook_path(slo): render_runbook(slo, model) for slo in model.slos}
    index = _ENV.get_template("index.md.j2").render(
        services=[
            (service, [(slo, _relative(runbook_path(slo))) for slo in service.slos]) for service in model.services
        ]
    )
    tree[INDEX_PATH] = index.rstrip("\n") + "\n"
    return Rendered(tree)


def _relative(path: str) -> str:
    """A path inside the rendered tree as seen from the runbooks directory."""
    return path.removeprefix(RUNBOOKS_DIR + "/")


def render_runbook(slo: SLO, model: Model) -> str:
    return _ENV.get_template("slo.md.j2").render(
        slo=slo,
        objective=format_number(slo.objective),
        budget=_percent(slo.error_budget),
        budget_time=human_duration(float(slo.error_budget) * slo.window.seconds),
        budget_events=_budget_events(slo),
        sli=_sli_text(slo),
        alerts=_alerts(slo, model),
        prose=_prose_status(slo),
        unreviewed_warning=_unreviewed_warning(slo),
        windows=[(w.text, error_ratio_query(slo, w.text)) for w in windows_of(slo)],
        burn_windows=_burn_windows(slo),
        budget_query=budget_remaining_query(slo),
        raw=raw_queries(slo),
        total_series=f"{L.TOTAL_RATE}{windows_of(slo)[0]}{L.selector(slo.service, slo.name)}",
        dashboard=_dashboard_link(model, slo),
        escalation=_escalation(model.team(slo.team), slo.team),
        burn_table=[_burn_row(slo, tier) for tier in slo.tiers],
        causes=_drafted_or(slo, "likely_causes", _skeleton_causes(slo)),
        triage=_drafted_or(slo, "triage", _skeleton_triage(slo, model)),
        mitigation=_drafted_or(slo, "mitigation", SKELETON_MITIGATION),
        extra_queries=slo.drafted.investigation if slo.drafted else (),
        draft_file=draft_file(slo),
        missing_alert=L.MISSING_SLI_ALERT,
        missing_for=model.settings.missing_sli_for.text,
        stages=_stage_rows(slo),
        stage_query=f"{L.BUDGET_STAGE_INDEX}{L.selector(slo.service, slo.name)}",
        freeze_stages=[stage.name for stage in slo.budget_stages if stage.freeze],
        freeze_alert=L.BUDGET_FREEZE_ALERT,
    )


@dataclass(frozen=True)
class _StageRow:
    name: str
    range: str
    action: str
    review: str
    freeze: bool


def _stage_rows(slo: SLO) -> list[_StageRow]:
    """The policy as table rows; the action is user text, escaped for a Markdown table cell."""
    rows = []
    upper = "100%"
    for stage in slo.budget_stages:
        if stage.min_remaining is None:
            span = f"{upper} or less (exhausted included)" if upper != "100%" else "any"
        else:
            lower = _percent(stage.min_remaining)
            span = f"above {lower}" if upper == "100%" else f"above {lower}, up to {upper}"
            upper = lower
        action = stage.action.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        rows.append(_StageRow(stage.name, span, action, stage.review.text, stage.freeze))
    return rows


def _percent(ratio: Decimal) -> str:
    return format_number(ratio * 100) + "%"


def _budget_events(slo: SLO) -> str | None:
    """Bad events the budget allows per window, when the spec gives an expected rate."""
    if slo.expected_rate is None or isinstance(slo.sli, RawSLI):
        return None
    count = slo.expected_rate * Decimal(slo.window.millis) / 1000 * slo.error_budget
    unit = "probes" if isinstance(slo.sli, BoolGaugeSLI) else "requests"
    return (
        f"about {int(count):,} failed {unit} per {slo.window} "
        f"(at the expected {format_number(slo.expected_rate)} {unit}/s)"
    )


def _sli_text(slo: SLO) -> str:
    sli = slo.sli
    match sli:
        case EventsSLI():
            bad = "errors" if sli.errors is not None else "events that are not good"
            return f"the share of {bad} among all events, from counters (traffic weighted)"
        case LatencySLI():
            selector = "{" + sli.selector + "}" if sli.selector else ""
            return (
                f"the share of requests slower than {sli.threshold} on the histogram "
                f"{md_code(sli.histogram + selector)} (traffic weighted)"
            )
        case BoolGaugeSLI():
            return f"the share of failed samples of {md_code(sli.metric)}: each sample is one probe, 0 is a failure"
        case RawSLI():
            return (
                "an error ratio the spec computes itself; windows longer than the shortest one average "
                "it over time, so a quiet hour counts as much as a busy one"
            )
        case _:
            assert_never(sli)


@dataclass(frozen=True)
class _Alert:
    name: str
    tier: str
    severity: str
    notify: str
    for_: str
    condition: str
    summary: str


def _alerts(slo: SLO, model: Model) -> list[_Alert]:
    result = []
    for tier in slo.tiers:
        threshold = _percent(tier.threshold)
        condition = (
            f"error ratio above {threshold} over both {tier.short_window} and {tier.long_window} "
            f"(burn rate above {format_number(tier.factor)}x)" + (f" for {tier.for_}" if tier.for_.millis else "")
        )
        if tier.min_bad_events:  # the low-traffic guard (docs/low-traffic.md)
            condition += f", with at least {tier.min_bad_events} bad events in {tier.long_window}"
        if slo.min_total_events:
            condition += f" out of at least {slo.min_total_events} events (fewer: no signal)"
        summary = tier_summary(slo, tier)
        result.append(
            _Alert(tier.alert_name, tier.name, tier.severity, tier.notify, tier.for_.text, condition, summary)
        )
    result.append(
        _Alert(
            L.MISSING_SLI_ALERT,
            L.MISSING_SLI_TIER,
            missing_sli_class(slo)[1],
            missing_sli_class(slo)[0],
            model.settings.missing_sli_for.text,
            f"no SLI data for {model.settings.missing_sli_for}: the burn-rate alerts above cannot start firing "
            "(one already firing keeps firing)",
            f"{slo.service}/{slo.name}: SLI has no data",
        )
    )
    return result


def _prose_status(slo: SLO) -> str:
    drafted = slo.drafted
    if drafted is None:
        return (
            f"skeleton text: no draft yet (`sloforge draft --service {slo.service} --slo {slo.name}` "
            "writes one for review)"
        )
    if drafted.withheld:
        return (
            f"skeleton text: the draft in {md_code(drafted.source)} is not used, {drafted.withheld} "
            f"(`sloforge draft --service {slo.service} --slo {slo.name} --mark-reviewed` after reviewing it)"
        )
    state = "reviewed" if drafted.reviewed else "NOT REVIEWED yet: read it with care"
    stale = "; STALE: the SLO changed since it was drafted" if drafted.stale else ""
    return (
        f"drafted text from {md_code(drafted.source)} ({state}{stale}; {md_inline(drafted.model or 'model unknown')})"
    )


def _unreviewed_warning(slo: SLO) -> str | None:
    """A visible banner when unreviewed text is shown (render --include-unreviewed-drafts)."""
    drafted = slo.drafted
    if drafted is None or drafted.withheld or drafted.reviewed:
        return None
    return (
        "**Warning: this runbook shows AI-drafted text that nobody has reviewed** (rendered with "
        "`--include-unreviewed-drafts`). Trust the queries and numbers, not the prose."
    )


def _burn_windows(slo: SLO) -> list[tuple[str, str]]:
    """Burn-rate queries for every window an alert reads, shortest first."""
    used = {window.millis: window for tier in slo.tiers for window in (tier.short_window, tier.long_window)}
    return [(used[key].text, burn_rate_query(slo, used[key].text)) for key in sorted(used)]


def draft_file(slo: SLO) -> str:
    """Where this SLO's draft lives (or would live): SPECS/drafts/<service>.yaml."""
    if slo.drafted:
        return slo.drafted.source
    root = slo.source.split("/", 1)[0] if "/" in slo.source else "slo_specs"
    return f"{root}/drafts/{slo.service}.yaml"


def _dashboard_link(model: Model, slo: SLO) -> str:
    url = dashboard_url(model.settings, slo)
    return url if "://" in url else "../../" + url


def _receiver_text(receiver: Receiver) -> str:
    if receiver.type == "slack":
        return md_inline(f"Slack channel {receiver.get('channel')}")
    if receiver.type == "email":
        return md_inline(f"email to {receiver.get('to')}")
    if receiver.type == "pagerduty":
        return "PagerDuty (routing key from a secret file)"
    if receiver.type == "opsgenie":
        return "Opsgenie (API key from a secret file)"
    return f"{receiver.type} receiver"


def _escalation(team: Team | None, name: str) -> list[tuple[str, list[str] | None]]:
    rows: list[tuple[str, list[str] | None]] = []
    for notify in ("page", "ticket"):
        receivers = team.receivers_for(notify) if team else ()
        rows.append((notify, [_receiver_text(r) for r in receivers] or None))
    return rows


@dataclass(frozen=True)
class _BurnRow:
    alert: str
    severity: str
    windows: str
    factor: str
    threshold: str
    budget_spent: str
    full_outage: str
    double_threshold: str
    reset: str
    exhaustion: str


def _duration(seconds: float) -> str:
    return "never" if math.isinf(seconds) else human_duration(seconds)


def _burn_row(slo: SLO, tier) -> _BurnRow:
    facts = tier_facts(slo, tier)
    return _BurnRow(
        alert=tier.alert_name,
        severity=tier.severity,
        windows=f"{tier.long_window} / {tier.short_window}",
        factor=format_number(facts.factor) + "x",
        threshold=_percent(facts.threshold) if facts.can_fire else _percent(facts.threshold) + " (cannot fire)",
        budget_spent=_percent(facts.budget_consumed),
        full_outage=_duration(facts.detection_full_outage_s),
        double_threshold=_duration(facts.detection_double_threshold_s),
        reset=_duration(facts.reset_s),
        exhaustion=_duration(facts.exhaustion_s),
    )


def _drafted_or(slo: SLO, section: str, skeleton: tuple[str, ...]) -> tuple[str, ...]:
    drafted = getattr(slo.drafted, section) if slo.drafted else ()
    return drafted or skeleton


def _skeleton_causes(slo: SLO) -> tuple[str, ...]:
    common = (
        "A recent deploy, configuration or feature-flag change of this service.",
        "A failing or slow dependency (database, cache, downstream API).",
    )
    by_kind = {
        "events": ("Resource exhaustion: CPU, memory, connection or thread pools.",),
        "latency": (
            "Saturation: CPU throttling, exhausted connection pools, queueing.",
            "Slow queries or a cold cache after a restart or failover.",
        ),
        "raw": ("Bad input data from an upstream producer.", "Lost or partial runs of the job."),
        "bool_gauge": (
            "The endpoint is down or answers with errors.",
            "DNS, TLS certificate or network problems between the prober and the target.",
        ),
    }
    return common + by_kind[slo.sli.kind]


def _skeleton_triage(slo: SLO, model: Model) -> tuple[str, ...]:
    fastest = slo.tiers[0].short_window.text if slo.tiers else windows_of(slo)[0].text
    return (
        "Acknowledge the alert and note which tier fired: the tier says how fast the budget burns.",
        f"Open the dashboard and check the burn rate over {fastest}: is it still rising, flat or recovering?",
        "Compare the errors and total queries below: a drop in traffic makes a few errors look like a high ratio "
        "(the alert needs a minimum of bad events, see the conditions above; for a service that is often quiet, "
        "add a synthetic probe, group it with its siblings or lengthen its windows: docs/low-traffic.md).",
        f"Check recent changes to {slo.service}: deploys, configuration, feature flags, infrastructure.",
        "If a page-tier alert is burning fast, mitigate first (below) and investigate afterwards.",
    )


SKELETON_MITIGATION = (
    "Roll back the most recent change if the errors started with it.",
    "Scale out or shed load if the service is saturated.",
    "Fail over or disable the failing dependency path if one dependency is the cause.",
    "Escalate to the owners of a failing dependency and keep this alert's team informed.",
)
