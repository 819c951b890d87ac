"""Open positions must rest under protective stops; a vanished stop of ours is re-placed.

A position (at the broker: that is the real exposure) of quantity ``q`` is covered by the
resting protective stops in its symbol: broker orders that the OMS marks as protective, that are
still open at the broker, are STOP orders and sit on the closing side (SELL for a long, BUY for a
short). If their remaining quantity is below ``|q|`` a MISSING_PROTECTIVE_STOP diff is raised.

Its repair re-places an internal protective stop the OMS still believes resting but the broker
no longer rests (absent, or terminal at the broker), for the uncovered quantity, at the same stop
price and time in force, under :func:`replacement_client_order_id`. Without such a stop there is
nothing provably ours to re-place (no stop price is invented): the diff stands without a repair.
"""

from __future__ import annotations

from decimal import Decimal

from mqk_reconcile._diff import DiffKind, ReconcileDiff
from mqk_reconcile._repair import PlaceProtectiveStop, replacement_client_order_id
from mqk_reconcile._rules import render
from mqk_reconcile._state import InternalState, ReconcileConfig
from mqk_schemas import Order, OrderType, Side

__all__ = ["check_protective_stops"]


def _resting(order: Order, symbol: str, side: Side) -> bool:
    return (
        not order.status.is_terminal
        and order.order_type is OrderType.STOP
        and order.symbol == symbol
        and order.side is side
    )


def _repair(
    engine_id: str,
    symbol: str,
    side: Side,
    uncovered: Decimal,
    broker_orders: dict[str, Order],
    internal: InternalState,
    taken: set[str],
) -> PlaceProtectiveStop | None:
    candidates = sorted(
        order.client_order_id
        for order in internal.orders
        if order.client_order_id in internal.protective_stop_ids
        and _resting(order, symbol, side)
        and not (
            order.client_order_id in broker_orders
            and _resting(broker_orders[order.client_order_id], symbol, side)
        )
    )
    for coid in candidates:
        stop = next(o for o in internal.orders if o.client_order_id == coid)
        new_id = replacement_client_order_id(coid, taken)
        if new_id is None or stop.stop_price is None:
            continue
        return PlaceProtectiveStop(
            engine_id=engine_id,
            client_order_id=new_id,
            symbol=symbol,
            side=side,
            quantity=uncovered,
            stop_price=stop.stop_price,
            time_in_force=stop.time_in_force,
            replaces=coid,
            reason=DiffKind.MISSING_PROTECTIVE_STOP,
        )
    return None


def check_protective_stops(
    engine_id: str,
    broker_positions: dict[str, Decimal],
    broker_orders: dict[str, Order],
    all_broker_ids: set[str],
    internal: InternalState,
    config: ReconcileConfig,
) -> tuple[list[ReconcileDiff], list[PlaceProtectiveStop]]:
    """MISSING_PROTECTIVE_STOP diffs (severity from config) and re-place repairs.

    ``broker_orders`` holds the broker's orders in our namespace by id; ``all_broker_ids`` every
    client_order_id the broker reports (a new id never reuses one of them or an OMS id).
    """
    diffs: list[ReconcileDiff] = []
    repairs: list[PlaceProtectiveStop] = []
    if not config.require_protective_stop:
        return diffs, repairs
    taken = all_broker_ids | {o.client_order_id for o in internal.orders}
    for symbol in sorted(broker_positions):
        quantity = broker_positions[symbol]
        if quantity == 0:
            continue
        side = Side.SELL if quantity > 0 else Side.BUY
        need = abs(quantity)
        covered = sum(
            (
                order.remaining_quantity
                for coid, order in broker_orders.items()
                if coid in internal.protective_stop_ids and _resting(order, symbol, side)
            ),
            Decimal(0),
        )
        if covered >= need:
            continue
        repair = _repair(engine_id, symbol, side, need - covered, broker_orders, internal, taken)
        if repair is not None:
            repairs.append(repair)
            taken.add(repair.client_order_id)
            action = f"re-place {repair.replaces} as {repair.client_order_id}"
        else:
            action = "no internal protective stop to re-place; protect it by hand"
        diffs.append(
            ReconcileDiff(
                kind=DiffKind.MISSING_PROTECTIVE_STOP,
                severity=config.missing_stop_severity,
                symbol=symbol,
                field="protective_stop_quantity",
                broker=render(covered),
                internal=render(need),
                message=(
                    f"{symbol} position {render(quantity)} at the broker: resting protective "
                    f"{side} stops cover {render(covered)} of {render(need)}; {action}"
                ),
            )
        )
    return diffs, repairs
