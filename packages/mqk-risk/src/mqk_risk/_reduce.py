"""Whether an order takes risk off, decided from the position it would change."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from mqk_schemas import Side

__all__ = ["closes_position", "is_risk_reducing", "opens_position", "signed_quantity"]

_ZERO: Final = Decimal(0)
_BUY: Final = Side.BUY  # read once: an enum class attribute costs ~70 ns a lookup
_SELL: Final = Side.SELL


def signed_quantity(side: Side, quantity: Decimal) -> Decimal:
    """``+quantity`` for BUY, ``-quantity`` for SELL."""
    return quantity if side is _BUY else -quantity


def is_risk_reducing(position: Decimal, side: Side, quantity: Decimal) -> bool:
    """True when the order moves ``position`` toward zero without crossing it.

    Decided only from the current signed position and the order's side and quantity: a BUY
    reduces a short of at least its size, a SELL a long of at least its size. An order from
    flat, one that adds, and one that crosses through zero (closing and opening the other side)
    are not reducing.
    """
    if side is _SELL:
        return position > _ZERO and quantity <= position
    return position < _ZERO and quantity <= -position


def closes_position(before: Decimal, after: Decimal) -> bool:
    """True when going from ``before`` to ``after`` closes some of ``before`` (or all of it)."""
    if before == _ZERO:
        return False
    if before > _ZERO:
        return after < before
    return after > before


def opens_position(before: Decimal, after: Decimal) -> bool:
    """True when going from ``before`` to ``after`` opens or adds risk on some side."""
    if after == _ZERO:
        return False
    if after > _ZERO:
        return after > before if before >= _ZERO else True
    return after < before if before <= _ZERO else True
