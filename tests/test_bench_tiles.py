"""The tile replay that explains sloforge's error: exact live tiles must give the exact ratio back."""

from __future__ import annotations

import pytest

from bench.evaluation import Check, EvalConfig, EvalResult, Prep, RunResult
from bench.recorded import base_rates
from bench.synth import BLOCK, SynthConfig, all_counters, exact_ratio
from bench.tiles import diagnose, summary


def make_result(live_window_ms: int) -> tuple[EvalResult, list]:
    synth = SynthConfig(slos=1, pods=2, start=1_700_000_000 // BLOCK * BLOCK, steps=2 * 1440, step=60)
    (slo,) = all_counters(synth)
    end_k = synth.steps - 30
    backfill_end = synth.time_of(end_k)
    e, t = base_rates(slo, synth, live_window_ms)
    live = [(float(backfill_end + 20 + 60 * j), float(e[end_k + j]), float(t[end_k + j])) for j in range(20)]
    live += [(float(synth.time_of(end_k - j)), float("nan"), float("nan")) for j in range(1, 3)]  # backfilled: ignored
    at = live[15][0]
    checks = [
        Check(
            slo.shape.key, window, at, exact_ratio(slo, synth, at, seconds) or 0.0, exact_ratio(slo, synth, at, seconds)
        )
        for window, seconds in (("30m", 1800), ("1h", 3600), ("6h", 21600), ("1d", 86400))
    ]
    run = RunResult("sloforge", [0.1], 1, 1, 1, 1, 1.0, 0, 0, 0, checks, live_5m={slo.shape.key: live})
    prep = Prep(1, 1.0, 1.0, 1.0, [], 1, 0.0, 0.0, backfill_end=backfill_end)
    return EvalResult(EvalConfig(slos=1, pods=2), synth, prep, [run]), checks


def test_exact_live_tiles_replay_to_the_exact_ratio(tmp_path):
    result, _ = make_result(300_000)
    found = diagnose(result, tmp_path / "specs")
    assert found.live_tiles == 20 and found.replayed == 4
    assert found.replay_gap < 1e-9  # the recorded values above are the exact ratios
    assert max(found.live_total_error) < 1e-12
    assert all(max(errors) < 1e-9 for errors in found.exact_tile_error.values())
    text = "\n".join(summary(found))
    assert "reproduces the recorded windows" in text
    assert "The live 5m tiles are the exact 5m rates" in text and "are not the exact" not in text


def test_four_minute_live_tiles_are_recognised(tmp_path):
    result, _ = make_result(240_000)
    found = diagnose(result, tmp_path / "specs")
    assert found.four_minute_share == pytest.approx(1.0)
    assert max(found.live_total_error) > 1e-6
    assert "The live 5m tiles are not the exact 5m rates" in "\n".join(summary(found))
    # the exact-tile counterfactual does not depend on what was recorded live
    assert all(max(errors) < 1e-9 for errors in found.exact_tile_error.values())


def test_selectors_are_counted_per_rule_and_weighted_by_interval(tmp_path):
    from bench.tiles import selectors, selectors_per_minute

    (tmp_path / "a.yaml").write_text(
        "groups:\n"
        "- name: g\n  interval: 30s\n  rules:\n"
        '  - record: r\n    expr: sum(rate(m{a="1"}[5m])) / sum(rate(m{a="1"}[5m]))\n'
        "- name: h\n  interval: 2m\n  rules:\n"
        '  - alert: A\n    expr: (sum(x{b="2"} offset 5m) or vector(0)) > 1\n'
    )
    assert selectors(tmp_path) == (3, 2)
    assert selectors_per_minute(tmp_path) == 2 * 2 + 0.5 * 1
