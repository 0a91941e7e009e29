"""The live feed: every grid sample must be stored before any rule group evaluates at or after its timestamp."""

from __future__ import annotations

from bench.exporter import Feed
from bench.prom import SCRAPE_INTERVAL
from bench.synth import BLOCK, SynthConfig, all_counters

CONFIG = SynthConfig(slos=1, pods=1, start=1_700_000_000 // BLOCK * BLOCK, steps=30, step=60)


def served_stamp(feed: Feed, now: float) -> int:
    """The timestamp (unix seconds) of the samples the feed serves at `now`."""
    line = next(line for line in feed.body(now).decode().splitlines() if not line.startswith("#"))
    return int(line.rsplit(" ", 1)[1]) // 1000


def test_a_sample_is_served_from_more_than_a_scrape_interval_before_its_timestamp():
    """A group may evaluate right at the minute; the scrape that stores the minute's sample must come earlier.

    Served only from its own timestamp on, a sample scraped up to 15 s late is
    missed by every group that evaluates in between (a tile then ends a sample
    early, and the minute between two tiles is extrapolated over). The margin
    of 5 s lets a slow scrape finish.
    """
    feed = Feed(CONFIG, all_counters(CONFIG))
    minute = CONFIG.time_of(10)
    for before in range(1, SCRAPE_INTERVAL + 5 + 1):
        assert served_stamp(feed, minute - before) == minute, f"{before} s before its timestamp"


def test_every_grid_sample_is_served_for_at_least_two_scrape_intervals():
    feed = Feed(CONFIG, all_counters(CONFIG))
    stamps = [served_stamp(feed, CONFIG.time_of(5) + second) for second in range(0, 10 * 60)]
    for k in range(6, 14):
        assert stamps.count(CONFIG.time_of(k)) >= 2 * SCRAPE_INTERVAL
    assert stamps == sorted(stamps)


def test_the_feed_never_serves_a_sample_ten_minutes_ahead():
    """Prometheus drops scraped samples more than 10 minutes in the future."""
    feed = Feed(CONFIG, all_counters(CONFIG))
    for second in range(0, 20 * 60, 7):
        now = CONFIG.time_of(3) + second
        assert served_stamp(feed, now) - now < 600
