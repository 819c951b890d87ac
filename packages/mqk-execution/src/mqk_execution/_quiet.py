"""The quiet band of a symbol's resting orders: bars strictly inside it change nothing.

For a book of resting GTC LIMIT/STOP orders, a bar whose low is above every level that
triggers on the way down (buy limits, sell stops, a short's trailing-stop move) and whose high
is below every level that triggers on the way up (sell limits, buy stops, a long's trailing-stop
move) can neither fill, cancel, nor move anything: the SimBroker only counts it. Books holding
a MARKET, DAY or IOC order, or a cancel/replace in flight, have no band (every bar is
processed in full).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from mqk_execution._simorder import Leg, SimOrder
from mqk_schemas import OrderType, Side, TimeInForce

__all__ = ["quiet_band"]

_BELOW = Decimal("-Infinity")
_ABOVE = Decimal("Infinity")
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_BUY = Side.BUY
_GTC = TimeInForce.GTC
_STOP = Leg.STOP


def quiet_band(book: Iterable[SimOrder]) -> tuple[Decimal, Decimal] | None:
    """``(lo, hi)`` such that a bar with ``lo < low`` and ``high < hi`` is a no-op, or None."""
    lo, hi = _BELOW, _ABOVE
    for order in book:
        if (
            order.order_type is _MARKET
            or order.tif is not _GTC
            or order.cancel_at is not None
            or order.replace_of is not None
        ):
            return None
        level = order.limit_price if order.order_type is _LIMIT else order.stop_price
        assert level is not None  # LIMIT/STOP orders always carry their level
        falls_to_it = (order.order_type is _LIMIT) is (order.side is _BUY)
        if falls_to_it:
            lo = max(lo, level)
        else:
            hi = min(hi, level)
        group = order.group
        if order.leg is _STOP and group is not None and group.trail_amount is not None:
            # the stop moves once the close is a trail away from it (on the favourable side)
            if order.side is _BUY:
                lo = max(lo, level - group.trail_amount)
            else:
                hi = min(hi, level + group.trail_amount)
    return lo, hi
