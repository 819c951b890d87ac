"""The OMS state machine: legal/illegal transitions, overfill, fill dedupe, replace lineage."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from mqk_execution import (
    LEGAL_TRANSITIONS,
    FillMismatchError,
    IllegalOrderTransition,
    OrderManager,
    OrderStateError,
    OverfillError,
    UnknownOrderError,
    check_transition,
)
from mqk_schemas import Fill, Order, OrderStatus, OrderType, Side

S = OrderStatus
TS = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
D = Decimal

LEGAL = {
    (S.NEW, S.SUBMITTED),
    (S.NEW, S.REJECTED),
    (S.NEW, S.CANCELED),
    (S.SUBMITTED, S.PARTIALLY_FILLED),
    (S.SUBMITTED, S.FILLED),
    (S.SUBMITTED, S.CANCELED),
    (S.SUBMITTED, S.REJECTED),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, S.CANCELED),
}
ALL_PAIRS = list(itertools.product(S, S))


def _order(coid: str = "MAIN_a_1", quantity: str = "10", **changes: Any) -> Order:
    fields: dict[str, Any] = {
        "client_order_id": coid,
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": D(quantity),
        "order_type": OrderType.MARKET,
        "status": S.NEW,
        "created_at": TS,
        "updated_at": TS,
    }
    fields.update(changes)
    return Order(**fields)


def _fill(fill_id: str, quantity: str, coid: str = "MAIN_a_1", **changes: Any) -> Fill:
    fields: dict[str, Any] = {
        "broker_fill_id": fill_id,
        "client_order_id": coid,
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": D(quantity),
        "price": D("100"),
        "ts_utc": TS,
    }
    fields.update(changes)
    return Fill(**fields)


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS, ids=lambda s: s.value)
def unit_transition_table_allows_exactly_the_documented_moves(
    from_status: OrderStatus, to_status: OrderStatus
) -> None:
    if (from_status, to_status) in LEGAL:
        check_transition("MAIN_x_1", from_status, to_status)
        assert to_status in LEGAL_TRANSITIONS[from_status]
    else:
        with pytest.raises(IllegalOrderTransition) as err:
            check_transition("MAIN_x_1", from_status, to_status)
        assert (err.value.client_order_id, err.value.from_status, err.value.to_status) == (
            "MAIN_x_1",
            from_status,
            to_status,
        )
        assert err.value.reason_code == "ILLEGAL_ORDER_TRANSITION"


def _oms_at(status: OrderStatus) -> OrderManager:
    """An OMS holding one order of 10 brought to ``status`` by legal steps."""
    oms = OrderManager()
    oms.register(_order())
    if status is S.NEW:
        return oms
    if status in (S.CANCELED, S.REJECTED):
        oms.transition("MAIN_a_1", status, ts=TS)
        return oms
    oms.transition("MAIN_a_1", S.SUBMITTED, ts=TS)
    if status is S.PARTIALLY_FILLED:
        oms.apply_fill(_fill("f1", "4"))
    elif status is S.FILLED:
        oms.apply_fill(_fill("f1", "10"))
    return oms


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (f, t)
        for f, t in ALL_PAIRS
        if (f, t) not in LEGAL and t in (S.SUBMITTED, S.CANCELED, S.REJECTED)
    ],
    ids=lambda s: s.value,
)
def unit_oms_refuses_illegal_status_changes_and_changes_nothing(
    from_status: OrderStatus, to_status: OrderStatus
) -> None:
    oms = _oms_at(from_status)
    before = oms.get("MAIN_a_1")
    with pytest.raises(IllegalOrderTransition):
        oms.transition("MAIN_a_1", to_status, ts=TS)
    assert oms.get("MAIN_a_1") == before


@pytest.mark.parametrize("status", [S.NEW, S.FILLED, S.CANCELED, S.REJECTED])
def unit_fill_on_an_order_not_working_is_illegal(status: OrderStatus) -> None:
    oms = _oms_at(status)
    with pytest.raises(OrderStateError):
        oms.apply_fill(_fill("late", "1"))


def unit_fill_states_are_reached_only_by_fills() -> None:
    oms = _oms_at(S.SUBMITTED)
    with pytest.raises(OrderStateError, match="only by applying a fill"):
        oms.transition("MAIN_a_1", S.FILLED, ts=TS)


def unit_partial_then_full_fill_tracks_quantity_and_average_price() -> None:
    oms = _oms_at(S.SUBMITTED)
    first = oms.apply_fill(_fill("f1", "4", price=D("100")))
    assert first is not None
    assert (first.status, first.filled_quantity) == (S.PARTIALLY_FILLED, D(4))
    second = oms.apply_fill(_fill("f2", "6", price=D("101")))
    assert second is not None
    assert (second.status, second.filled_quantity) == (S.FILLED, D(10))
    assert second.average_fill_price == D("100.6")
    assert oms.open_orders() == ()


def unit_overfill_raises_and_changes_nothing() -> None:
    oms = _oms_at(S.PARTIALLY_FILLED)
    with pytest.raises(OverfillError) as err:
        oms.apply_fill(_fill("f2", "7"))
    assert (err.value.quantity, err.value.filled, err.value.fill_quantity) == (D(10), D(4), D(7))
    assert oms.get("MAIN_a_1").filled_quantity == D(4)
    assert [f.broker_fill_id for f in oms.fills()] == ["f1"]


def unit_fill_on_a_filled_order_is_an_overfill() -> None:
    oms = _oms_at(S.FILLED)
    with pytest.raises(OverfillError):
        oms.apply_fill(_fill("f9", "1"))


def unit_duplicate_fill_is_ignored_and_never_double_counted() -> None:
    oms = _oms_at(S.SUBMITTED)
    fill = _fill("f1", "4")
    assert oms.apply_fill(fill) is not None
    assert oms.apply_fill(fill) is None
    assert oms.get("MAIN_a_1").filled_quantity == D(4)


def fault_fill_id_reused_by_a_different_fill_is_refused() -> None:
    oms = _oms_at(S.SUBMITTED)
    oms.apply_fill(_fill("f1", "4"))
    with pytest.raises(FillMismatchError, match="already used"):
        oms.apply_fill(_fill("f1", "5"))


@pytest.mark.parametrize("changes", [{"symbol": "MSFT"}, {"side": Side.SELL}, {"engine_id": "EXP"}])
def fault_fill_that_contradicts_its_order_is_refused(changes: dict[str, Any]) -> None:
    oms = _oms_at(S.SUBMITTED)
    with pytest.raises(FillMismatchError):
        oms.apply_fill(_fill("f1", "1", **changes))
    assert oms.get("MAIN_a_1").filled_quantity == 0


def unit_unknown_order_raises_typed_error() -> None:
    oms = OrderManager()
    with pytest.raises(UnknownOrderError):
        oms.get("MAIN_nope_1")
    with pytest.raises(UnknownOrderError):
        oms.apply_fill(_fill("f1", "1", coid="MAIN_nope_1"))


def unit_register_is_idempotent_and_starts_unfilled() -> None:
    oms = OrderManager()
    first = oms.register(_order())
    assert oms.register(_order(quantity="99")) == first
    assert len(oms) == 1
    with pytest.raises(OrderStateError):
        oms.register(_order("MAIN_a_2", status=S.FILLED, filled_quantity=D(10)))


def unit_replace_lineage_walks_the_replaces_chain() -> None:
    oms = OrderManager()
    oms.register(_order("MAIN_a_1"))
    oms.register(_order("MAIN_a_2", replaces="MAIN_a_1"))
    oms.register(_order("MAIN_a_3", replaces="MAIN_a_2"))
    assert oms.lineage("MAIN_a_3") == ("MAIN_a_1", "MAIN_a_2", "MAIN_a_3")
    assert oms.lineage("MAIN_a_1") == ("MAIN_a_1",)
    with pytest.raises(UnknownOrderError):
        oms.register(_order("MAIN_a_4", replaces="MAIN_a_missing"))


def unit_pending_quantity_excludes_protective_and_replaced_orders() -> None:
    oms = OrderManager()
    oms.register(_order("MAIN_a_1", quantity="5", side=Side.SELL, status=S.SUBMITTED))
    oms.register(_order("MAIN_a_2", quantity="3", status=S.SUBMITTED))
    oms.register(_order("MAIN_a_3", quantity="7", side=Side.SELL), protective=True)
    assert oms.pending_quantity("AAPL") == D(-2)
    assert oms.pending_quantity("AAPL", Side.SELL) == D(5)
    assert oms.pending_quantity("AAPL", Side.SELL, exclude="MAIN_a_1") == D(0)
    oms.apply_fill(_fill("f1", "2", coid="MAIN_a_1", side=Side.SELL))
    assert oms.pending_quantity("AAPL", Side.SELL) == D(3)
