"""The OMS order state machine, with cancel/replace lineage and fill bookkeeping.

::

    NEW ──> SUBMITTED ──> PARTIALLY_FILLED ──> FILLED
     │          │  │            │  └─────────> CANCELED
     │          │  └──> FILLED  └─(more fills)─┘
     │          ├─────> CANCELED
     ├──────────┴─────> REJECTED
     └────────────────> CANCELED   (never sent)

FILLED, CANCELED and REJECTED are terminal. PARTIALLY_FILLED and FILLED are reached only through
fills (:meth:`OrderManager.apply_fill`), so the filled quantity and the status never disagree.
A replacement order names the order it replaced in ``replaces``; :meth:`OrderManager.lineage`
walks that chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from mqk_execution.errors import (
    FillMismatchError,
    IllegalOrderTransition,
    OrderStateError,
    OverfillError,
    UnknownOrderError,
)
from mqk_schemas import Fill, Order, OrderStatus, Side

__all__ = ["LEGAL_TRANSITIONS", "OrderManager", "check_transition"]

_S = OrderStatus
LEGAL_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELED}),
        _S.SUBMITTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED}),
        _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED}),
        _S.FILLED: frozenset(),
        _S.CANCELED: frozenset(),
        _S.REJECTED: frozenset(),
    }
)
"""Every status change the state machine allows (anything else raises)."""

_FILL_STATES = frozenset({_S.PARTIALLY_FILLED, _S.FILLED})
_ZERO = Decimal(0)


def check_transition(client_order_id: str, from_status: OrderStatus, to: OrderStatus) -> None:
    """Raise :class:`IllegalOrderTransition` unless ``from_status -> to`` is allowed."""
    if to not in LEGAL_TRANSITIONS[from_status]:
        raise IllegalOrderTransition(client_order_id, from_status, to)


@dataclass(slots=True)
class _Record:
    order: Order
    protective: bool
    notional: Decimal = _ZERO
    fills: list[Fill] = field(default_factory=list)


class OrderManager:
    """Orders of one engine: their state machine, fills (deduplicated) and replace lineage."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._open: dict[str, _Record] = {}
        self._fills: dict[str, Fill] = {}

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._records

    def __len__(self) -> int:
        return len(self._records)

    def register(self, order: Order, *, protective: bool = False) -> Order:
        """Start tracking ``order`` (status NEW, or SUBMITTED when the broker created it).

        Registering a known client_order_id again returns the tracked order unchanged.
        ``protective`` marks a bracket exit leg (broker-side reduce-only).
        """
        known = self._records.get(order.client_order_id)
        if known is not None:
            return known.order
        if order.status not in (_S.NEW, _S.SUBMITTED) or order.filled_quantity != 0:
            raise OrderStateError(
                f"order {order.client_order_id}: a new order starts NEW or SUBMITTED with nothing "
                f"filled, not {order.status.value} with {order.filled_quantity} filled"
            )
        if order.replaces is not None and order.replaces not in self._records:
            raise UnknownOrderError(order.replaces)
        record = _Record(order=order, protective=protective)
        self._records[order.client_order_id] = record
        self._open[order.client_order_id] = record
        return order

    def get(self, client_order_id: str) -> Order:
        """The current state of an order; unknown ids raise :class:`UnknownOrderError`."""
        return self._record(client_order_id).order

    def find(self, client_order_id: str) -> Order | None:
        """The current state of an order, or None."""
        record = self._records.get(client_order_id)
        return record.order if record is not None else None

    def is_protective(self, client_order_id: str) -> bool:
        """True for a bracket exit leg."""
        return self._record(client_order_id).protective

    def transition(
        self,
        client_order_id: str,
        to: OrderStatus,
        *,
        ts: datetime,
        broker_order_id: str | None = None,
    ) -> Order:
        """Move an order to SUBMITTED, CANCELED or REJECTED (fill states come from fills)."""
        record = self._record(client_order_id)
        check_transition(client_order_id, record.order.status, to)
        if to in _FILL_STATES:
            raise OrderStateError(
                f"order {client_order_id}: {to.value} is reached only by applying a fill"
            )
        if broker_order_id is not None and record.order.broker_order_id is None:
            record.order = record.order.model_copy(update={"broker_order_id": broker_order_id})
        return self._set(record, status=to, ts=ts)

    def apply_fill(self, fill: Fill) -> Order | None:
        """Apply a fill; returns the updated order, or None for an exact duplicate fill id."""
        seen = self._fills.get(fill.broker_fill_id)
        if seen is not None:
            if seen != fill:
                raise FillMismatchError(
                    f"fill id {fill.broker_fill_id} was already used by a different fill"
                )
            return None
        record = self._record(fill.client_order_id)
        order = record.order
        if (fill.symbol, fill.side, fill.engine_id) != (order.symbol, order.side, order.engine_id):
            raise FillMismatchError(
                f"fill {fill.broker_fill_id} ({fill.engine_id} {fill.side.value} {fill.symbol}) "
                f"does not match order {order.client_order_id} ({order.engine_id} "
                f"{order.side.value} {order.symbol})"
            )
        filled = order.filled_quantity + fill.quantity
        if filled > order.quantity:
            raise OverfillError(
                order.client_order_id, order.quantity, order.filled_quantity, fill.quantity
            )
        to = _S.FILLED if filled == order.quantity else _S.PARTIALLY_FILLED
        check_transition(order.client_order_id, order.status, to)
        record.notional += fill.quantity * fill.price
        record.fills.append(fill)
        self._fills[fill.broker_fill_id] = fill
        return self._set(
            record,
            status=to,
            ts=fill.ts_utc,
            filled_quantity=filled,
            average_fill_price=record.notional / filled,
        )

    def lineage(self, client_order_id: str) -> tuple[str, ...]:
        """The replace chain ending at ``client_order_id``, oldest first."""
        chain = [client_order_id]
        current = self._record(client_order_id).order
        while current.replaces is not None:
            chain.append(current.replaces)
            current = self._record(current.replaces).order
        return tuple(reversed(chain))

    def orders(self) -> tuple[Order, ...]:
        """Every order, in registration order."""
        return tuple(r.order for r in self._records.values())

    def open_orders(self, symbol: str | None = None) -> tuple[Order, ...]:
        """Orders not yet FILLED, CANCELED or REJECTED (optionally of one symbol)."""
        return tuple(
            r.order for r in self._open.values() if symbol is None or r.order.symbol == symbol
        )

    def fills(self, client_order_id: str | None = None) -> tuple[Fill, ...]:
        """Applied fills (of one order, or all in arrival order)."""
        if client_order_id is None:
            return tuple(self._fills.values())
        return tuple(self._record(client_order_id).fills)

    def pending_quantity(
        self, symbol: str, side: Side | None = None, *, exclude: str | None = None
    ) -> Decimal:
        """Signed unfilled quantity of open non-protective orders in ``symbol``.

        With ``side``, only that side's orders count and the result is unsigned. ``exclude``
        leaves one order out (the one being replaced).
        """
        total = _ZERO
        for coid, record in self._open.items():
            order = record.order
            if order.symbol != symbol or record.protective or coid == exclude:
                continue
            if side is None:
                total += order.remaining_quantity * order.side.sign
            elif order.side is side:
                total += order.remaining_quantity
        return total

    def _record(self, client_order_id: str) -> _Record:
        record = self._records.get(client_order_id)
        if record is None:
            raise UnknownOrderError(client_order_id)
        return record

    def _set(
        self,
        record: _Record,
        *,
        status: OrderStatus,
        ts: datetime,
        filled_quantity: Decimal | None = None,
        average_fill_price: Decimal | None = None,
    ) -> Order:
        update: dict[str, object] = {"status": status, "updated_at": ts}
        if filled_quantity is not None:
            update["filled_quantity"] = filled_quantity
            update["average_fill_price"] = average_fill_price
        record.order = record.order.model_copy(update=update)
        if status.is_terminal:
            self._open.pop(record.order.client_order_id, None)
        return record.order
