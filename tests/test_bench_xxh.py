"""Prometheus 2.x group evaluation offsets, used to date the checks of runs that saved query times."""

from __future__ import annotations

import pytest

from bench.xxh import group_offset_ms, xxh64


def test_xxh64_reference_values():
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999


def test_group_offset_matches_what_prometheus_did():
    # Measured: this group's live samples were all at 59.828 s past the minute (2026-12-02 bench run).
    path = "/work/wt/bench/bench/.work/prometheus/rules/sloforge/svc-000.yaml"
    assert group_offset_ms("sloforge-svc-000-route-0", path, 60_000) == pytest.approx(59_828.428425)
    assert group_offset_ms("sloforge-svc-000-route-2", path, 60_000) == pytest.approx(31_414.00083)
