"""The engine's internal state for reconciliation, rebuilt from the run database.

Used where no runtime is in memory (``mqk-cli reconcile check``): the engine's latest run gives
the ledger (its applied fills, so signed positions per symbol), the orders (the OMS view saved
at the last completed cycle, plus every outbox entry written since) and the fills. Order fill
state is recomputed from the applied fills, which are the source of truth. An engine without
any run is flat with no orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from mqk_db import OutboxEntry, RunRecord, list_runs
from mqk_reconcile import InternalState
from mqk_runtime._store import RunStore, outbox_intent
from mqk_schemas import Fill, Order, OrderStatus, OrderType

__all__ = ["StoredState", "internal_state_from_parts", "load_internal_state", "oms_json"]

_ZERO = Decimal(0)
_OUTBOX_STATUS = {
    "PENDING": OrderStatus.NEW,
    "SENT": OrderStatus.SUBMITTED,
    "ACKED": OrderStatus.SUBMITTED,
    "AMBIGUOUS": OrderStatus.SUBMITTED,
    "FAILED": OrderStatus.REJECTED,
}


@dataclass(frozen=True, slots=True)
class StoredState:
    """The internal state of an engine and the run it comes from (None: no run yet)."""

    run: RunRecord | None
    internal: InternalState


def oms_json(orders: Iterable[Order], protective: Iterable[str]) -> dict[str, Any]:
    """The OMS view saved at the end of each cycle."""
    return {
        "orders": [o.model_dump(mode="json") for o in orders],
        "protective": sorted(protective),
    }


def internal_state_from_parts(
    orders: Iterable[Order], protective: Iterable[str], fills: Iterable[Fill]
) -> InternalState:
    """Positions from the fills, orders with their fill state, open protective STOP orders."""
    fills = tuple(fills)
    positions: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for fill in fills:
        positions[fill.symbol] += fill.signed_quantity
    by_id = {o.client_order_id: o for o in orders}
    stops = frozenset(
        coid
        for coid in protective
        if coid in by_id
        and by_id[coid].order_type is OrderType.STOP
        and not by_id[coid].status.is_terminal
    )
    return InternalState(
        positions={s: q for s, q in sorted(positions.items()) if q != 0},
        orders=tuple(by_id.values()),
        fills=fills,
        protective_stop_ids=stops,
    )


def load_internal_state(db: Engine, engine_id: str) -> StoredState:
    """The internal state of ``engine_id`` from its latest run (see the module docstring)."""
    runs = list_runs(db, engine_id=engine_id)
    if not runs:
        return StoredState(None, InternalState())
    run = runs[-1]
    store = RunStore(db, run.run_id, engine_id)
    fills = store.fills(applied=True)
    state = store.load_state()
    orders: dict[str, Order] = {}
    protective: list[str] = []
    if state is not None and state.oms is not None:
        orders = {
            o.client_order_id: o for o in (Order.model_validate(d) for d in state.oms["orders"])
        }
        protective = list(state.oms["protective"])
    for entry in store.outbox():
        if entry.idempotency_key not in orders:
            orders[entry.idempotency_key] = _outbox_order(entry)
    refreshed = _with_fills(orders, fills)
    return StoredState(run, internal_state_from_parts(refreshed.values(), protective, fills))


def _outbox_order(entry: OutboxEntry) -> Order:
    intent = outbox_intent(entry)
    return Order(
        client_order_id=intent.client_order_id,
        engine_id=intent.engine_id,
        symbol=intent.symbol,
        side=intent.side,
        quantity=intent.quantity,
        order_type=intent.order_type,
        limit_price=intent.limit_price,
        stop_price=intent.stop_price,
        time_in_force=intent.time_in_force,
        status=_OUTBOX_STATUS[entry.status],
        broker_order_id=entry.broker_order_id,
        replaces=entry.payload.get("replaces"),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )


def _with_fills(orders: Mapping[str, Order], fills: Iterable[Fill]) -> dict[str, Order]:
    quantity: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    notional: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for fill in fills:
        quantity[fill.client_order_id] += fill.quantity
        notional[fill.client_order_id] += fill.quantity * fill.price
    out: dict[str, Order] = {}
    for coid, order in orders.items():
        filled = quantity.get(coid, _ZERO)
        if filled == 0 or filled > order.quantity:
            out[coid] = order
            continue
        status = order.status
        if filled == order.quantity:
            status = OrderStatus.FILLED
        elif status in (OrderStatus.NEW, OrderStatus.SUBMITTED):
            status = OrderStatus.PARTIALLY_FILLED
        out[coid] = order.model_copy(
            update={
                "status": status,
                "filled_quantity": filled,
                "average_fill_price": notional[coid] / filled,
            }
        )
    return out
