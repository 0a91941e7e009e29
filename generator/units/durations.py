"""Prometheus-style durations: parsed once, kept with the spelling the spec used.

Recording rule names embed the window as written (`ratio_rate30d`), so a
duration remembers its text; equality and ordering go by seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNIT_SECONDS: dict[str, int] = {
    "ms": 0,  # handled separately: sub-second parts are kept in milliseconds
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")


class DurationError(ValueError):
    """Raised for a string that is not a Prometheus duration."""


@dataclass(frozen=True, order=True)
class Duration:
    millis: int
    text: str = field(compare=False)

    @property
    def seconds(self) -> float:
        return self.millis / 1000

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str) -> Duration:
    """Parse `5m`, `1h30m`, `300ms`, `30d`; raise DurationError otherwise."""
    if not isinstance(text, str) or not _WHOLE.match(text):
        raise DurationError(f"{text!r} is not a duration; expected a number and a unit such as 5m, 1h, 30d or 300ms")
    millis = 0
    for number, unit in _PART.findall(text):
        millis += int(number) * (1 if unit == "ms" else UNIT_SECONDS[unit] * 1000)
    if millis == 0:
        raise DurationError(f"{text!r} is zero; a duration must be positive")
    return Duration(millis, text)


def format_duration(millis: int) -> str:
    """Shortest Prometheus spelling of a duration, largest units first (`1d2h`)."""
    if millis <= 0:
        return "0s"
    parts = []
    seconds, ms = divmod(millis, 1000)
    for unit in ("w", "d", "h", "m", "s"):
        size = UNIT_SECONDS[unit]
        if unit == "w" and seconds % size:
            continue  # weeks only when they divide evenly: `10d`, not `1w3d`
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return "".join(parts)


def duration_from_millis(millis: int) -> Duration:
    return Duration(millis, format_duration(millis))


def human_duration(seconds: float) -> str:
    """Readable approximation for tables (`2h 24m`, `43s`)."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m")) if v]
    if secs and not days:
        parts.append(f"{secs}s")
    return " ".join(parts[:2])
