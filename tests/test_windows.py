"""The tile ladder: which windows are summed from which rung, and that the sums are exact and without lag."""

from __future__ import annotations

from fractions import Fraction

import pytest

from generator.model import burn
from generator.model.windows import DAY_MS, HOUR_MS, Tiling, ladder, rungs_needed, tiling

M = 60_000


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (30 * M, Tiling(5 * M, 6)),
        (HOUR_MS, Tiling(30 * M, 2)),
        (2 * HOUR_MS, Tiling(HOUR_MS, 2)),
        (6 * HOUR_MS, Tiling(2 * HOUR_MS, 3)),
        (DAY_MS, Tiling(6 * HOUR_MS, 4)),
        (3 * DAY_MS, Tiling(DAY_MS, 3)),
        (7 * DAY_MS, Tiling(DAY_MS, 7)),
        (28 * DAY_MS, Tiling(DAY_MS, 28)),
        (30 * DAY_MS, Tiling(3 * DAY_MS, 10)),
        (90 * DAY_MS, Tiling(3 * DAY_MS, 30)),
        (45 * M, Tiling(5 * M, 9)),
        (7 * M, None),  # no rung divides it: the sum_over_time fallback
        (200 * DAY_MS, None),  # too many tiles
    ],
)
def test_windows_are_tiled_by_the_longest_dividing_rung(window, expected):
    assert tiling(window, 5 * M) == expected


def test_ladder_skips_rungs_the_shortest_window_does_not_divide():
    assert ladder(5 * M) == (5 * M, 30 * M, HOUR_MS, 2 * HOUR_MS, 6 * HOUR_MS, DAY_MS, 3 * DAY_MS)
    assert ladder(7 * M) == (7 * M,)
    assert ladder(10_000) == (10_000,)  # 30m would be 180 tiles of 10s


def test_every_needed_rung_is_tiled():
    """A 10s shortest window: no ladder, every longer window falls back instead of failing to render."""
    assert rungs_needed([10_000, M, DAY_MS], 10_000) == []
    assert tiling(M, 10_000) == Tiling(10_000, 6)
    assert tiling(DAY_MS, 10_000) is None


def test_rungs_needed_follow_the_chain():
    assert rungs_needed([5 * M, 30 * M], 5 * M) == []  # 30m is six 5m tiles, no rung needed
    assert rungs_needed([5 * M, HOUR_MS], 5 * M) == [30 * M]
    assert rungs_needed([5 * M, 30 * DAY_MS], 5 * M) == [30 * M, HOUR_MS, 2 * HOUR_MS, 6 * HOUR_MS, DAY_MS, 3 * DAY_MS]


def _counter_evaluation(bad: burn.Steps, total: burn.Steps, steps: int, step: int = M) -> burn.Evaluation:
    records = burn.record_counters(bad, total, 5 * M, M, step, steps)
    return burn.Evaluation(records, step, 5 * M)


def _exact_ratio(bad: burn.Steps, total: burn.Steps, t: int, window: int) -> Fraction:
    start = max(0, t - window)
    return (bad.integral(t) - bad.integral(start)) / (total.integral(t) - total.integral(start))


@pytest.mark.parametrize("window", [30 * M, HOUR_MS, 6 * HOUR_MS, DAY_MS])
def test_tiled_windows_equal_the_exact_ratio_at_every_evaluation(window):
    """Traffic and errors change every few minutes: every tiled window is the exact ratio of the counters."""
    starts = tuple(range(0, 2 * DAY_MS, 7 * M))
    total = burn.Steps(starts, tuple(100 + (i * 37) % 50 for i in range(len(starts))))
    bad = burn.Steps(starts, tuple((i * 13) % 7 for i in range(len(starts))))
    steps = (window + 3 * HOUR_MS) // M
    evaluation = _counter_evaluation(bad, total, steps)
    for index in range(window // M, steps, 7):
        assert evaluation.ratio(index, window) == _exact_ratio(bad, total, index * M, window), index


def test_an_error_step_reaches_the_long_window_threshold_at_the_workbook_time():
    """100% errors from t0: the 1h window holds (t - t0) / 1h errors, with no smear of overlapping rates."""
    t0 = 2 * HOUR_MS
    total = burn.Steps((0,), (100,))
    bad = burn.Steps((0, t0), (0, 100))
    evaluation = _counter_evaluation(bad, total, (t0 + HOUR_MS) // M)
    for minutes in range(1, 60):
        assert evaluation.ratio((t0 + minutes * M) // M, HOUR_MS) == Fraction(minutes, 60)


def test_a_missing_tile_leaves_the_long_window_recorded():
    """Ten minutes without a shortest-window rate: the 1h window keeps the ratio of the tiles it has."""
    records: list[burn.Recorded | None] = [burn.Recorded(1, 100) for _ in range(180)]
    for index in range(120, 130):
        records[index] = None
    evaluation = burn.Evaluation(tuple(records), M, 5 * M)
    for index in range(60, 180):
        assert evaluation.ratio(index, HOUR_MS) == Fraction(1, 100), index
        assert evaluation.ratio(index, DAY_MS) == Fraction(1, 100), index
