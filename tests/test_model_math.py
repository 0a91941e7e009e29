"""Burn-rate math against the SRE Workbook numbers, and exact number formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generator.model.policy import DEFAULT_TIERS, burn_factor, resolve_tier
from generator.model.workbook import detection_seconds, tier_facts
from generator.units.durations import DurationError, format_duration, parse_duration
from generator.units.numbers import format_number


def factors(window: str) -> list[Decimal]:
    slo_window = parse_duration(window)
    return [burn_factor(t.budget_share, slo_window, t.long_window) for t in DEFAULT_TIERS]


def test_workbook_factors_for_30_days():
    assert factors("30d") == [Decimal("14.4"), Decimal(6), Decimal(3), Decimal(1)]


def test_factors_for_28_days():
    fast, slow, ticket_fast, ticket_slow = factors("28d")
    assert (fast, slow, ticket_fast) == (Decimal("13.44"), Decimal("5.6"), Decimal("2.8"))
    assert format_number(ticket_slow) == "0.933333333333"


def test_factor_scales_with_window_written_in_weeks():
    assert factors("4w") == factors("28d")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("99.9") / 100, "0.999"),
        (1 - Decimal("99.9") / 100, "0.001"),
        (Decimal("14.4") * Decimal("0.001"), "0.0144"),
        (0.1 + 0.2, "0.3"),
        (Decimal("6.000"), "6"),
        (Decimal("1e-7"), "0.0000001"),
        (Decimal(0), "0"),
        (Decimal(2) / 3, "0.666666666667"),
    ],
)
def test_numbers_render_exactly(value, text):
    assert format_number(value) == text


def test_threshold_is_factor_times_budget():
    tier = resolve_tier(DEFAULT_TIERS[0], parse_duration("30d"), Decimal("0.001"))
    assert tier.threshold == Decimal("0.0144")
    assert tier.alert_name == "SLOBurnRatePageFast"


def test_workbook_detection_time_at_full_outage():
    # SRE Workbook: 99.9% over 30d, 1h window at 14.4x detects a 100% outage in 0.864 min.
    tier = resolve_tier(DEFAULT_TIERS[0], parse_duration("30d"), Decimal("0.001"))
    assert detection_seconds(tier, Decimal("0.001"), Decimal(1)) == pytest.approx(51.84)
    assert detection_seconds(tier, Decimal("0.001"), Decimal("0.0144")) == float("inf")


def test_tier_facts_flag_tiers_that_can_never_fire(example_model):
    slo = example_model.slos[0]
    tier = resolve_tier(DEFAULT_TIERS[0], parse_duration("30d"), Decimal("0.1"))  # a 90% objective
    assert not tier_facts(slo, tier).can_fire


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("300ms", 0.3), ("4w", 2419200)])
def test_durations(text, seconds):
    assert parse_duration(text).seconds == seconds
    assert str(parse_duration(text)) == text


@pytest.mark.parametrize("text", ["30x", "", "5", "m5", "0s", "1.5h"])
def test_bad_durations(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_format_duration_prefers_large_units():
    assert [format_duration(ms) for ms in (300_000, 86_400_000, 604_800_000, 93_600_000, 500)] == [
        "5m",
        "1d",
        "1w",
        "1d2h",
        "500ms",
    ]
