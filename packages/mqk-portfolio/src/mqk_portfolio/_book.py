"""One symbol's FIFO lots: opening, partial closing and flipping through zero."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal

from mqk_schemas import Fill, Side

__all__ = ["Lot", "SymbolBook", "TradePlan", "signed_quantity"]

_ZERO = Decimal(0)


def signed_quantity(fill: Fill) -> Decimal:
    """+quantity for a buy, -quantity for a sell (no context rounding, unlike unary minus)."""
    return fill.quantity if fill.side is Side.BUY else fill.quantity.copy_negate()


@dataclass(frozen=True, slots=True)
class Lot:
    """An open lot: ``quantity`` (> 0) still open at ``price``, from fill ``broker_fill_id``.

    The side of every lot of a symbol is the side of its position (long when > 0).
    """

    quantity: Decimal
    price: Decimal
    broker_fill_id: str
    ts_utc: datetime


@dataclass(frozen=True, slots=True)
class TradePlan:
    """What one fill does to a book, computed before anything is changed."""

    consumed: int
    head: Lot | None
    opened: Lot | None
    quantity: Decimal
    cost_delta: Decimal
    realised: Decimal


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

    def plan(self, fill: Fill, ctx: Context) -> TradePlan:
        """FIFO effect of ``fill``: close the oldest opposite lots first, open any remainder."""
        price = fill.price
        remaining = fill.quantity
        signed = signed_quantity(fill)
        new_quantity = ctx.add(self.quantity, signed)
        if not self.quantity or (self.quantity > 0) == (signed > 0):
            lot = Lot(remaining, price, fill.broker_fill_id, fill.ts_utc)
            return TradePlan(0, None, lot, new_quantity, ctx.multiply(signed, price), _ZERO)
        long = self.quantity > 0
        consumed = 0
        head: Lot | None = None
        realised = _ZERO
        cost_delta = _ZERO
        for lot in self.lots:
            take = min(remaining, lot.quantity)
            edge = ctx.subtract(price, lot.price) if long else ctx.subtract(lot.price, price)
            realised = ctx.add(realised, ctx.multiply(take, edge))
            closed_cost = ctx.multiply(take, lot.price)
            cost_delta = (
                ctx.subtract(cost_delta, closed_cost) if long else ctx.add(cost_delta, closed_cost)
            )
            remaining = ctx.subtract(remaining, take)
            if take == lot.quantity:
                consumed += 1
            else:
                head = Lot(
                    ctx.subtract(lot.quantity, take), lot.price, lot.broker_fill_id, lot.ts_utc
                )
            if not remaining:
                break
        opened = None
        if remaining:
            opened = Lot(remaining, price, fill.broker_fill_id, fill.ts_utc)
            opened_cost = ctx.multiply(remaining, price)
            cost_delta = (
                ctx.subtract(cost_delta, opened_cost) if long else ctx.add(cost_delta, opened_cost)
            )
        return TradePlan(consumed, head, opened, new_quantity, cost_delta, realised)

    def commit(self, plan: TradePlan, fee: Decimal, ctx: Context) -> None:
        """Apply a plan made by :meth:`plan` (no arithmetic here can fail half way)."""
        cost_basis = ctx.add(self.cost_basis, plan.cost_delta)
        realised = ctx.add(self.realised_pnl, plan.realised)
        fees = ctx.add(self.fees, fee)
        for _ in range(plan.consumed):
            self.lots.popleft()
        if plan.head is not None:
            self.lots[0] = plan.head
        if plan.opened is not None:
            self.lots.append(plan.opened)
        self.quantity = plan.quantity
        self.cost_basis = cost_basis
        self.realised_pnl = realised
        self.fees = fees
