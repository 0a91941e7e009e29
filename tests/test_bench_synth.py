"""The benchmark's synthetic data: the truth it reports must be the truth of the text it backfills."""

from __future__ import annotations

import re

import pytest

from bench.synth import (
    BLOCK,
    CODES,
    ERROR_CODES,
    SynthConfig,
    all_counters,
    block_chunks,
    exact_ratio,
    openmetrics_chunk,
    pod_values,
    series_prefixes,
)

LINE = re.compile(r'^\w+\{service="([^"]+)",route="([^"]+)",pod="([^"]+)",code="(\d+)"\} (\d+) (\d+)$')


@pytest.fixture(scope="module")
def small():
    config = SynthConfig(slos=3, pods=4, start=1_700_000_000 // BLOCK * BLOCK, steps=600, step=60)
    return config, all_counters(config)


def parse(text: str) -> dict[tuple[str, str, str, str, int], int]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = LINE.match(line)
        assert match, line
        service, route, pod, code, value, ts = match.groups()
        samples[(service, route, pod, code, int(ts))] = int(value)
    return samples


def test_pod_split_sums_to_the_count_and_never_decreases():
    previous = pod_values(0, 7)
    for count in range(1, 200):
        values = pod_values(count, 7)
        assert sum(values) == count
        assert all(new >= old for new, old in zip(values, previous, strict=True))
        previous = values


def test_exact_ratio_matches_the_backfilled_text(small):
    config, slos = small
    prefixes = [series_prefixes(config, slo) for slo in slos]
    samples = parse(openmetrics_chunk(config, slos, prefixes, 0, config.steps - 1))
    assert len(samples) == config.slos * config.series_per_slo * config.steps
    at, window = config.time_of(config.steps - 1), 3 * 3600
    for slo in slos:
        service, route = slo.shape.key

        def summed(codes, ts, service=service, route=route):
            return sum(
                v for (s, r, _, c, t), v in samples.items() if s == service and r == route and c in codes and t == ts
            )

        old = config.time_of(config.index_at(at - window))
        errors = summed(ERROR_CODES, at) - summed(ERROR_CODES, old)
        total = summed(CODES, at) - summed(CODES, old)
        assert total > 0
        assert exact_ratio(slo, config, at, window) == pytest.approx(errors / total, rel=1e-12)


def test_counters_only_grow_and_have_errors(small):
    config, slos = small
    for slo in slos:
        for code in CODES:
            series = slo.by_code[code]
            assert all(b >= a for a, b in zip(series, series[1:], strict=False))
        last = config.steps - 1
        assert 0 < slo.errors(last) < 0.5 * slo.total(last)  # errors exist, and are a minority


def test_same_seed_same_data_other_seed_other_data(small):
    config, slos = small
    again = all_counters(config)
    assert [list(s.by_code["500"]) for s in again] == [list(s.by_code["500"]) for s in slos]
    other = all_counters(SynthConfig(**{**config.__dict__, "seed": config.seed + 1}))
    assert [list(s.by_code["200"]) for s in other] != [list(s.by_code["200"]) for s in slos]


def test_chunks_cover_the_range_once_and_never_cross_a_2h_block(small):
    config, _ = small
    chunks = block_chunks(config, 5, config.steps - 1)
    assert chunks[0][0] == 5 and chunks[-1][1] == config.steps - 1
    for (_, b), (c, _) in zip(chunks, chunks[1:], strict=False):
        assert c == b + 1
    for a, b in chunks:
        assert config.time_of(a) // BLOCK == config.time_of(b) // BLOCK
