"""Seeded partial fills: the same seed gives the same fill quantities in any process."""

from __future__ import annotations

import random
from decimal import ROUND_DOWN, Decimal

from mqk_execution._settings import PartialFillSettings

__all__ = ["PartialFills", "quantity_step"]

_ONE = Decimal(1)
_ZERO = Decimal(0)
_SCALE = 1_000_000


def quantity_step(quantity: Decimal) -> Decimal:
    """The finest unit ``quantity`` is written in, at most 1 (100 -> 1, 2.5 -> 0.1)."""
    exponent = quantity.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimals only (schemas refuse NaN/inf)
    return _ONE.scaleb(min(0, exponent))


class PartialFills:
    """Draws fill quantities from a ``random.Random(seed)``.

    With ``probability`` a fill takes ``fraction * remaining`` (fraction uniform in
    ``[fill_fraction_min, 1)`` in steps of 1e-6), truncated to the quantity's own step; else the
    whole remaining. Draws are integers, so the stream is identical on every platform.
    """

    __slots__ = ("_fraction_min", "_on", "_probability", "_rng")

    def __init__(self, settings: PartialFillSettings, seed: int) -> None:
        self._on = settings.enabled and settings.probability > 0
        self._probability = settings.probability
        self._fraction_min = settings.fill_fraction_min
        self._rng = random.Random(seed)

    def quantity(self, remaining: Decimal) -> Decimal:
        """How much of ``remaining`` this fill takes."""
        if not self._on:
            return remaining
        draw = Decimal(self._rng.randrange(_SCALE)) / _SCALE
        if draw >= self._probability:
            return remaining
        u = Decimal(self._rng.randrange(_SCALE)) / _SCALE
        fraction = self._fraction_min + (_ONE - self._fraction_min) * u
        step = quantity_step(remaining)
        quantity = (remaining * fraction / step).to_integral_value(rounding=ROUND_DOWN) * step
        return quantity if _ZERO < quantity < remaining else remaining
