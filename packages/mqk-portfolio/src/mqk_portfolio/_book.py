"""One symbol's FIFO lots: opening, partial closing and flipping through zero."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from mypy_extensions import mypyc_attr

from mqk_schemas import Fill, Side

__all__ = ["Lot", "SymbolBook", "TradePlan", "new_lot", "signed_quantity"]

_ZERO: Final = Decimal(0)
_BUY: Final = Side.BUY  # read once: an enum class attribute costs ~70 ns a lookup


def signed_quantity(fill: Fill) -> Decimal:
    """+quantity for a buy, -quantity for a sell (no context rounding, unlike unary minus)."""
    return fill.quantity if fill.side is _BUY else fill.quantity.copy_negate()


@mypyc_attr(native_class=False)  # compiled (tools/compiled.py), it stays a Python class:
@dataclass(frozen=True, slots=True)  # new_lot fills its slots without __init__
class Lot:
    """An open lot: ``quantity`` (> 0) still open at ``price``, from fill ``broker_fill_id``.

    The side of every lot of a symbol is the side of its position (long when > 0).
    """

    quantity: Decimal
    price: Decimal
    broker_fill_id: str
    ts_utc: datetime


_new = object.__new__
_set_quantity: Any = vars(Lot)["quantity"].__set__
_set_price: Any = vars(Lot)["price"].__set__
_set_fill_id: Any = vars(Lot)["broker_fill_id"].__set__
_set_ts: Any = vars(Lot)["ts_utc"].__set__


def new_lot(quantity: Decimal, price: Decimal, broker_fill_id: str, ts_utc: datetime) -> Lot:
    """``Lot(quantity, price, broker_fill_id, ts_utc)`` built without the frozen ``__init__``
    (its slots are set directly: an equal object, made in about half the time)."""
    lot: Lot = _new(Lot)
    _set_quantity(lot, quantity)
    _set_price(lot, price)
    _set_fill_id(lot, broker_fill_id)
    _set_ts(lot, ts_utc)
    return lot


TradePlan = tuple[int, Lot | None, Lot | None, Decimal, Decimal, Decimal]
"""What one fill does to a book, computed before anything is changed: ``(consumed, head,
opened, quantity, cost_delta, realised)`` (lots closed in full, the partly closed head lot's
remainder, the lot opened, the new signed quantity, the change of the signed cost basis and
the PnL realised)."""


class SymbolBook:
    """Open lots and running totals for one symbol (signed quantity, signed cost basis)."""

    __slots__ = ("cost_basis", "fees", "lots", "market_value", "quantity", "realised_pnl", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.lots: deque[Lot] = deque()
        self.quantity = _ZERO
        self.cost_basis = _ZERO
        self.realised_pnl = _ZERO
        self.fees = _ZERO
        self.market_value = _ZERO

    def plan(self, fill: Fill) -> TradePlan:
        """FIFO effect of ``fill``: close the oldest opposite lots first, open any remainder.

        Runs under the ledger's exact context (made current by the caller): every ``+ - *``
        here is exact or raises.
        """
        price = fill.price
        remaining = fill.quantity
        signed = remaining if fill.side is _BUY else remaining.copy_negate()
        held = self.quantity
        new_quantity = held + signed
        if not held or (held > _ZERO) == (signed > _ZERO):
            lot = new_lot(remaining, price, fill.broker_fill_id, fill.ts_utc)
            return (0, None, lot, new_quantity, signed * price, _ZERO)
        long = held > _ZERO
        lots = self.lots
        if len(lots) == 1:  # the common case: one lot, closed in part or in full (or flipped)
            lot = lots[0]
            lot_quantity = lot.quantity
            lot_price = lot.price
            take = min(remaining, lot_quantity)
            realised = _ZERO + take * (price - lot_price if long else lot_price - price)
            closed_cost = take * lot_price
            cost_delta = _ZERO - closed_cost if long else _ZERO + closed_cost
            remaining = remaining - take
            if take == lot_quantity:
                consumed = 1
                head = None
            else:
                consumed = 0
                head = new_lot(lot_quantity - take, lot_price, lot.broker_fill_id, lot.ts_utc)
        else:
            consumed, head, realised, cost_delta, remaining = self._close(remaining, price, long)
        opened = None
        if remaining:
            opened = new_lot(remaining, price, fill.broker_fill_id, fill.ts_utc)
            opened_cost = remaining * price
            cost_delta = cost_delta - opened_cost if long else cost_delta + opened_cost
        return (consumed, head, opened, new_quantity, cost_delta, realised)

    def _close(
        self, remaining: Decimal, price: Decimal, long: bool
    ) -> tuple[int, Lot | None, Decimal, Decimal, Decimal]:
        """Close the oldest lots against ``remaining`` at ``price`` (exact context current):
        ``(consumed, head, realised, cost_delta, remaining)``."""
        consumed = 0
        head: Lot | None = None
        realised = _ZERO
        cost_delta = _ZERO
        for lot in self.lots:
            take = min(remaining, lot.quantity)
            edge = price - lot.price if long else lot.price - price
            realised = realised + take * edge
            closed_cost = take * lot.price
            cost_delta = cost_delta - closed_cost if long else cost_delta + closed_cost
            remaining = remaining - take
            if take == lot.quantity:
                consumed += 1
            else:
                head = new_lot(lot.quantity - take, lot.price, lot.broker_fill_id, lot.ts_utc)
            if not remaining:
                break
        return consumed, head, realised, cost_delta, remaining

    def commit(self, plan: TradePlan, fee: Decimal) -> None:
        """Apply a plan made by :meth:`plan` (exact context current; no arithmetic here can
        fail half way)."""
        consumed, head, opened, quantity, cost_delta, realised = plan
        cost_basis = self.cost_basis + cost_delta
        realised = self.realised_pnl + realised
        fees = self.fees + fee
        lots = self.lots
        if consumed == 1:
            lots.popleft()
        elif consumed:
            for _ in range(consumed):
                lots.popleft()
        if head is not None:
            lots[0] = head
        if opened is not None:
            lots.append(opened)
        self.quantity = quantity
        self.cost_basis = cost_basis
        self.realised_pnl = realised
        self.fees = fees
