"""Exact decimal formatting, so rules read `0.999` and never `0.9990000000000001`."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache

_CONTEXT = Context(prec=40)
SIGNIFICANT_DIGITS = 12


def to_decimal(value: object) -> Decimal:
    """Decimal from a spec number; floats go through their shortest repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


@lru_cache(maxsize=4096)  # renders ask for the same few factors and budgets thousands of times
def format_number(value: Decimal | int | float) -> str:
    """Plain decimal text, at most 12 significant digits, no exponent, no trailing zeros."""
    number = to_decimal(value)
    if number == 0:
        return "0"
    exponent = number.adjusted() - SIGNIFICANT_DIGITS + 1
    rounded = number.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN, context=_CONTEXT)
    text = format(rounded.normalize(_CONTEXT), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
