"""promtool's expanding notation for synthetic samples: exact decimal text, runs of the samples rules read."""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

MAX_VALUES_TEXT = 900  # characters of one `values` line


def sample_runs(last: int, interval_ms: int, raw_ms: int, step_ms: int | None) -> list[tuple[int, int]]:
    """Runs of sample indices (inclusive) that rate windows ending at each evaluation read."""
    if step_ms is None or step_ms <= raw_ms + interval_ms:
        return [(0, last)]
    runs: list[tuple[int, int]] = []
    for t in range(0, last * interval_ms + 1, step_ms):
        first, final = max(0, (t - raw_ms) // interval_ms), t // interval_ms
        if runs and first <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], final)
        else:
            runs.append((first, final))
    if runs[-1][1] < last:
        runs.append((last, last))
    return runs


def segment(first: Fraction, step: Fraction, count: int) -> str:
    if count == 0:
        return number_text(first)
    sign = "-" if step < 0 else "+"
    return f"{number_text(first)}{sign}{number_text(abs(step))}x{count}"


_DECIMALS = Context(prec=80)


def number_text(value: Fraction) -> str:
    """Exact decimal text of a dyadic fraction or an integer."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    twos = (denominator & -denominator).bit_length() - 1
    fives, rest = 0, denominator >> twos
    while rest % 5 == 0:
        fives, rest = fives + 1, rest // 5
    if rest == 1:  # a terminating decimal: its digits, exactly (no trailing zeros: the fraction is reduced)
        places = max(twos, fives)
        digits = str(abs(value.numerator) * (10**places // denominator)).rjust(places + 1, "0")
        if len(digits) <= 60:  # well within the context's precision, where the division is exact too
            return f"{'-' if value.numerator < 0 else ''}{digits[:-places]}.{digits[-places:]}"
    text = format(_DECIMALS.divide(Decimal(value.numerator), Decimal(value.denominator)), "f")
    return text.rstrip("0").rstrip(".")


def thousandths(value: int) -> str:
    """`number_text(Fraction(value, 1000))`, without the Fraction."""
    if abs(value) >= 10**50:
        return number_text(Fraction(value, 1000))
    whole, rest = divmod(abs(value), 1000)
    text = f"{whole}.{rest:03d}".rstrip("0") if rest else str(whole)
    return "-" + text if value < 0 else text
