"""Integer fixed-point prices: exact, and cheap to sum in int64.

Prices and quantities inside the window and the vectorised forms are ``int`` / ``int64`` counts
of ``10**-8`` units, the scale of the columnar bar form (``Decimal(38, 8)``), so conversion is
exact. Prices are bounded by :data:`MAX_FIXED_PRICE` so that the sum of any
:data:`MAX_LOOKBACK` of them fits in a signed int64: window sums never overflow.
"""

from __future__ import annotations

from decimal import Decimal

from mqk_schemas import PRICE_SCALE
from mqk_strategy.errors import BarInputError

__all__ = [
    "FIXED_ONE",
    "INT64_MAX",
    "MAX_FIXED_PRICE",
    "MAX_FIXED_QUANTITY",
    "MAX_LOOKBACK",
    "fixed_to_decimal",
    "scaled_units",
    "to_fixed",
]

FIXED_ONE = 10**PRICE_SCALE
"""One unit (1 share, 1 dollar) in fixed-point counts."""

INT64_MAX = 2**63 - 1

MAX_LOOKBACK = 10_000
"""Largest window (in bars) any strategy may ask for."""

MAX_FIXED_PRICE = INT64_MAX // MAX_LOOKBACK
"""Largest fixed-point price (about 9.2 million per unit): MAX_LOOKBACK of them fit in int64."""

MAX_FIXED_QUANTITY = 10**10 * FIXED_ONE
"""Largest fixed-point target quantity (10 billion units)."""


def scaled_units(value: Decimal, places: int) -> int | None:
    """``value * 10**places`` as an exact int, or None when that is not an integer.

    Works on the digits, so no decimal context (and no rounding) is involved.
    """
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return None
    coefficient = 0
    for digit in digits:
        coefficient = coefficient * 10 + digit
    shift = exponent + places
    units: int
    if shift >= 0:
        units = coefficient * 10**shift
    else:
        divisor: int = 10**-shift
        if coefficient % divisor:
            return None
        units = coefficient // divisor
    return -units if sign else units


def to_fixed(value: Decimal, *, field: str, limit: int = MAX_FIXED_PRICE) -> int:
    """Return ``value`` as an exact count of 1e-8 units in ``(0, limit]``.

    Raises :class:`BarInputError` naming ``field`` when the value has more than eight decimal
    places, is not positive or exceeds ``limit``.
    """
    if type(value) is not Decimal or not value.is_finite():
        raise BarInputError(f"{field}: {value!r} is not a finite Decimal")
    units = scaled_units(value, PRICE_SCALE)
    if units is None:
        raise BarInputError(f"{field}: {value} has more than {PRICE_SCALE} decimal places")
    if units <= 0 or units > limit:
        raise BarInputError(
            f"{field}: {value} is outside (0, {fixed_to_decimal(limit)}] (fixed-point range)"
        )
    return units


def fixed_to_decimal(units: int) -> Decimal:
    """Return the exact Decimal for ``units`` counts of 1e-8 (trailing zeros dropped)."""
    whole, fraction = divmod(abs(int(units)), FIXED_ONE)
    if not fraction:
        return Decimal(whole if units >= 0 else -whole)
    return Decimal(int(units)).scaleb(-PRICE_SCALE).normalize()
