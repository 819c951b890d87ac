"""The diff rules for orders, fills and positions, and how each diff is classified.

Classification (one row per situation; WARN halts new orders, CRITICAL disarms):

=========================  ===========================================================  ========
kind                       situation                                                    severity
=========================  ===========================================================  ========
UNKNOWN_BROKER_ORDER       ours, open at the broker (a cancel repair is proposed)       CRITICAL
UNKNOWN_BROKER_ORDER       ours, terminal with fills (an execution we never tracked)    CRITICAL
UNKNOWN_BROKER_ORDER       ours, terminal without fills (harmless history)              INFO
MISSING_INTERNAL_ORDER     OMS says SUBMITTED/PARTIALLY_FILLED, broker has no such id   WARN
ORDER_FIELD_DRIFT          quantity, side or symbol differ                              CRITICAL
ORDER_FIELD_DRIFT          filled_quantity: broker ahead (fills not yet ingested)       WARN
ORDER_FIELD_DRIFT          filled_quantity: OMS ahead of the broker                     CRITICAL
ORDER_FIELD_DRIFT          status: NEW vs SUBMITTED (both: open, nothing filled)        INFO
ORDER_FIELD_DRIFT          status: broker ahead (e.g. broker FILLED, OMS SUBMITTED)     WARN
ORDER_FIELD_DRIFT          status: OMS ahead, or two different terminal states          CRITICAL
FILL_NOT_APPLIED           broker fill the ledger has not applied                       WARN
FILL_MISSING_AT_BROKER     ledger fill the broker does not report                       CRITICAL
FILL_FIELD_DRIFT           quantity, price, side, symbol or client_order_id differ      CRITICAL
FILL_FIELD_DRIFT           fee differs                                                  WARN
POSITION_MISMATCH          broker and ledger quantities differ in a symbol              CRITICAL
MISSING_PROTECTIVE_STOP    open broker position not covered by resting stops            config
=========================  ===========================================================  ========

Status ranks for "ahead": NEW and SUBMITTED 0, PARTIALLY_FILLED 1, FILLED/CANCELED/REJECTED 2.
A status missing at the broker for an order the OMS has not sent yet (NEW) or already closed is
not a diff. Orders outside the engine's namespace are never compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import Enum

from mqk_reconcile._diff import DiffKind, ReconcileDiff, Severity
from mqk_reconcile._repair import CancelOrder
from mqk_reconcile._state import InternalState
from mqk_schemas import Fill, Order, OrderStatus, format_decimal

__all__ = ["diff_fills", "diff_orders", "diff_positions", "render"]

_STATUS_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.SUBMITTED: 0,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.FILLED: 2,
    OrderStatus.CANCELED: 2,
    OrderStatus.REJECTED: 2,
}
_BELIEVED_AT_BROKER = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
_ORDER_FIELDS = ("quantity", "filled_quantity", "status", "side", "symbol")
_FILL_FIELDS = ("quantity", "price", "side", "symbol", "client_order_id", "fee")


def render(value: object) -> str:
    """Canonical text of a compared value (exact decimals, enums by value)."""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _status_severity(internal: OrderStatus, broker: OrderStatus) -> Severity:
    if {internal, broker} == {OrderStatus.NEW, OrderStatus.SUBMITTED}:
        return Severity.INFO
    if _STATUS_RANK[broker] > _STATUS_RANK[internal]:
        return Severity.WARN
    return Severity.CRITICAL


def _order_field_severity(field: str, internal: Order, broker: Order) -> Severity:
    if field == "status":
        return _status_severity(internal.status, broker.status)
    if field == "filled_quantity":
        ahead = broker.filled_quantity > internal.filled_quantity
        return Severity.WARN if ahead else Severity.CRITICAL
    return Severity.CRITICAL


def _unknown(engine_id: str, order: Order) -> tuple[ReconcileDiff, CancelOrder | None]:
    if not order.status.is_terminal:
        severity, note = Severity.CRITICAL, "open at the broker; cancel proposed"
    elif order.filled_quantity > 0:
        severity, note = Severity.CRITICAL, "terminal with fills the OMS never tracked"
    else:
        severity, note = Severity.INFO, "terminal without fills"
    diff = ReconcileDiff(
        kind=DiffKind.UNKNOWN_BROKER_ORDER,
        severity=severity,
        symbol=order.symbol,
        ref=order.client_order_id,
        field="status",
        broker=render(order.status),
        message=(
            f"broker order {order.client_order_id} ({order.side} {render(order.quantity)} "
            f"{order.symbol}, {order.status}) is in our namespace but unknown to the OMS: {note}"
        ),
    )
    repair = None
    if not order.status.is_terminal:
        repair = CancelOrder(
            engine_id=engine_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            broker_order_id=order.broker_order_id,
            reason=DiffKind.UNKNOWN_BROKER_ORDER,
        )
    return diff, repair


def _drift(internal: Order, broker: Order) -> Iterator[ReconcileDiff]:
    for field in _ORDER_FIELDS:
        mine, theirs = getattr(internal, field), getattr(broker, field)
        if mine == theirs:
            continue
        yield ReconcileDiff(
            kind=DiffKind.ORDER_FIELD_DRIFT,
            severity=_order_field_severity(field, internal, broker),
            symbol=internal.symbol,
            ref=internal.client_order_id,
            field=field,
            broker=render(theirs),
            internal=render(mine),
            message=(
                f"order {internal.client_order_id} {field}: broker {render(theirs)}, "
                f"internal {render(mine)}"
            ),
        )


def diff_orders(
    engine_id: str, broker_orders: tuple[Order, ...], internal: InternalState
) -> tuple[list[ReconcileDiff], list[CancelOrder]]:
    """Compare the broker's orders in ``engine_id``'s namespace with the OMS's orders."""
    diffs: list[ReconcileDiff] = []
    repairs: list[CancelOrder] = []
    at_broker = {o.client_order_id: o for o in broker_orders}
    known = {o.client_order_id: o for o in internal.orders}
    for coid in sorted(at_broker):
        broker = at_broker[coid]
        mine = known.get(coid)
        if mine is None:
            diff, repair = _unknown(engine_id, broker)
            diffs.append(diff)
            if repair is not None:
                repairs.append(repair)
        else:
            diffs.extend(_drift(mine, broker))
    for coid in sorted(known):
        mine = known[coid]
        if coid in at_broker or mine.status not in _BELIEVED_AT_BROKER:
            continue
        diffs.append(
            ReconcileDiff(
                kind=DiffKind.MISSING_INTERNAL_ORDER,
                severity=Severity.WARN,
                symbol=mine.symbol,
                ref=coid,
                field="status",
                internal=render(mine.status),
                message=(
                    f"order {coid} ({mine.side} {render(mine.quantity)} {mine.symbol}) is "
                    f"{mine.status} in the OMS but the broker does not have it"
                ),
            )
        )
    return diffs, repairs


def _fill_drift(mine: Fill, broker: Fill) -> Iterator[ReconcileDiff]:
    for field in _FILL_FIELDS:
        ours, theirs = getattr(mine, field), getattr(broker, field)
        if ours == theirs:
            continue
        yield ReconcileDiff(
            kind=DiffKind.FILL_FIELD_DRIFT,
            severity=Severity.WARN if field == "fee" else Severity.CRITICAL,
            symbol=mine.symbol,
            ref=mine.broker_fill_id,
            field=field,
            broker=render(theirs),
            internal=render(ours),
            message=(
                f"fill {mine.broker_fill_id} {field}: broker {render(theirs)}, "
                f"internal {render(ours)}"
            ),
        )


def diff_fills(
    broker_fills: tuple[Fill, ...], internal: InternalState
) -> tuple[list[ReconcileDiff], int]:
    """Compare the broker's fills (ours, or sharing an id with a ledger fill) with the ledger's.

    Returns the diffs and the number of fill ids compared.
    """
    diffs: list[ReconcileDiff] = []
    at_broker = {f.broker_fill_id: f for f in broker_fills}
    applied = {f.broker_fill_id: f for f in internal.fills}
    compared = 0
    for fill_id in sorted(at_broker.keys() | applied.keys()):
        broker, mine = at_broker.get(fill_id), applied.get(fill_id)
        if broker is not None and mine is not None:
            compared += 1
            diffs.extend(_fill_drift(mine, broker))
        elif broker is not None and internal.in_fill_window(broker.ts_utc):
            compared += 1
            diffs.append(
                ReconcileDiff(
                    kind=DiffKind.FILL_NOT_APPLIED,
                    severity=Severity.WARN,
                    symbol=broker.symbol,
                    ref=fill_id,
                    field="quantity",
                    broker=render(broker.quantity),
                    message=(
                        f"broker fill {fill_id} ({broker.side} {render(broker.quantity)} "
                        f"{broker.symbol} @ {render(broker.price)}, order "
                        f"{broker.client_order_id}) is not applied in the ledger"
                    ),
                )
            )
        elif mine is not None and internal.in_fill_window(mine.ts_utc):
            compared += 1
            diffs.append(
                ReconcileDiff(
                    kind=DiffKind.FILL_MISSING_AT_BROKER,
                    severity=Severity.CRITICAL,
                    symbol=mine.symbol,
                    ref=fill_id,
                    field="quantity",
                    internal=render(mine.quantity),
                    message=(
                        f"ledger fill {fill_id} ({mine.side} {render(mine.quantity)} "
                        f"{mine.symbol} @ {render(mine.price)}, order {mine.client_order_id}) "
                        "is not reported by the broker"
                    ),
                )
            )
    return diffs, compared


def diff_positions(
    broker_positions: dict[str, Decimal], internal: InternalState
) -> list[ReconcileDiff]:
    """One CRITICAL diff per symbol whose broker and ledger quantities differ (absent = 0)."""
    diffs = []
    symbols = {s for s, q in broker_positions.items() if q != 0}
    symbols |= {s for s, q in internal.positions.items() if q != 0}
    for symbol in sorted(symbols):
        theirs = broker_positions.get(symbol, Decimal(0))
        mine = internal.position(symbol)
        if theirs == mine:
            continue
        diffs.append(
            ReconcileDiff(
                kind=DiffKind.POSITION_MISMATCH,
                severity=Severity.CRITICAL,
                symbol=symbol,
                field="quantity",
                broker=render(theirs),
                internal=render(mine),
                message=f"{symbol} position: broker {render(theirs)}, internal {render(mine)}",
            )
        )
    return diffs
