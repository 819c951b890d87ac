"""Builders shared by the mqk-reconcile tests: orders, fills, snapshots and internal state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mqk_reconcile import InternalState
from mqk_schemas import (
    Account,
    BrokerSnapshot,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    client_order_id,
)

DATA = Path(__file__).resolve().parent / "data"
RUN = uuid.UUID("12345678-1234-4234-8234-123456789abc")
T0 = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
ACCOUNT = Account(account_id="PA-0000-1234", cash="98095", equity="100000", buying_power="98095")


def coid(seq: int, engine: str = "MAIN") -> str:
    """The deterministic client order id of intent ``seq`` of the test run."""
    return client_order_id(engine, RUN, seq)


def order(seq: int, **changes: Any) -> Order:
    """A MAIN market BUY 10 AAPL order, SUBMITTED, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "client_order_id": coid(seq),
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": "10",
        "order_type": OrderType.MARKET,
        "status": OrderStatus.SUBMITTED,
        "created_at": T0 - timedelta(hours=1),
        "updated_at": T0 - timedelta(hours=1),
    }
    fields.update(changes)
    return Order(**fields)


def stop(seq: int, **changes: Any) -> Order:
    """A MAIN protective STOP SELL 10 AAPL @ 180, SUBMITTED, with ``changes`` applied."""
    base: dict[str, Any] = {
        "side": Side.SELL,
        "order_type": OrderType.STOP,
        "stop_price": "180",
    }
    return order(seq, **{**base, **changes})


def fill(fill_id: str, seq: int, **changes: Any) -> Fill:
    """A fill of order ``seq``: BUY 10 AAPL @ 190.5, fee 1, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "broker_fill_id": fill_id,
        "client_order_id": coid(seq),
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": "10",
        "price": "190.5",
        "fee": "1",
        "ts_utc": T0 - timedelta(minutes=30),
    }
    fields.update(changes)
    return Fill(**fields)


def snapshot(
    *,
    orders: tuple[Order, ...] = (),
    fills: tuple[Fill, ...] = (),
    positions: dict[str, str] | None = None,
    captured_at: datetime = T0,
) -> BrokerSnapshot:
    """A broker snapshot of the test account."""
    return BrokerSnapshot(
        captured_at=captured_at,
        account=ACCOUNT,
        orders=orders,
        fills=fills,
        positions=tuple(Position(symbol=s, quantity=q) for s, q in (positions or {}).items()),
    )


def state(
    *,
    orders: tuple[Order, ...] = (),
    fills: tuple[Fill, ...] = (),
    positions: dict[str, str] | None = None,
    stops: tuple[str, ...] = (),
    fills_since: datetime | None = None,
) -> InternalState:
    """An internal state of engine MAIN."""
    return InternalState(
        orders=orders,
        fills=fills,
        positions=positions or {},
        protective_stop_ids=frozenset(stops),
        fills_since=fills_since,
    )


def example_internal_state() -> InternalState:
    """The engine's view matching ``data/clean_snapshot.json`` (and diffed by the dirty one).

    MAIN bought 10 AAPL (order 1, two fills), rests a protective stop (order 2) and a MSFT
    limit buy (order 3).
    """
    return state(
        orders=(
            order(1, status=OrderStatus.FILLED, filled_quantity="10", average_fill_price="190.5"),
            stop(2),
            order(3, symbol="MSFT", quantity="5", order_type=OrderType.LIMIT, limit_price="400"),
        ),
        fills=(
            fill("F-1a", 1, quantity="6"),
            fill("F-1b", 1, quantity="4", ts_utc=T0 - timedelta(minutes=29)),
        ),
        positions={"AAPL": "10"},
        stops=(coid(2),),
    )
