"""Engine-scoped state: an engine's scope reads and changes only that engine's state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, ConfigDict

from mqk_isolation import (
    CrossEngineAccessError,
    EngineScope,
    EngineSettingsError,
    EngineStateStore,
    UnknownEngineError,
)
from mqk_schemas import Order, OrderStatus, OrderType, Position, Side, client_order_id

D = Decimal
RUN = uuid.UUID("00000000-0000-4000-8000-000000000002")
T = datetime(2024, 3, 4, 15, tzinfo=UTC)


class EngineState(BaseModel):
    """Stands in for a risk or integrity state snapshot that names its engine."""

    model_config = ConfigDict(frozen=True)
    engine_id: str
    halted: bool


def _order(engine: str, seq: int = 1, *, owner: str | None = None) -> Order:
    return Order(
        client_order_id=client_order_id(engine, RUN, seq),
        engine_id=owner or engine,
        symbol="AAPL",
        side=Side.BUY,
        quantity=D(10),
        order_type=OrderType.MARKET,
        status=OrderStatus.NEW,
        created_at=T,
        updated_at=T,
    )


def _scopes() -> tuple[EngineScope, EngineScope]:
    store = EngineStateStore(["MAIN", "EXP"])
    return store.scope("MAIN"), store.scope("EXP")


def invariant_main_scope_cannot_read_or_change_exp_positions() -> None:
    main, exp = _scopes()
    exp.set_position(Position(symbol="AAPL", quantity=D(10), average_price=D(100)))
    assert main.position("AAPL") is None
    assert main.position_quantity("AAPL") == D(0)
    assert dict(main.positions()) == {}
    main.set_position(Position(symbol="AAPL", quantity=D(-3), average_price=D(99)))
    assert exp.position_quantity("AAPL") == D(10)
    assert main.position_quantity("AAPL") == D(-3)
    view = main.positions()
    with pytest.raises(TypeError):
        view["AAPL"] = Position(symbol="AAPL", quantity=D(1))  # type: ignore[index]
    main.set_position(Position(symbol="AAPL", quantity=D(0)))
    assert "AAPL" not in main.positions()
    assert exp.position_quantity("AAPL") == D(10)


def invariant_scope_holds_no_path_to_another_engine() -> None:
    main, _ = _scopes()
    reachable = {name for name in dir(main) if not name.startswith("__")}
    assert reachable == {
        "_engine_id",
        "_integrity_state",
        "_orders",
        "_positions",
        "_risk_state",
        "engine_id",
        "integrity_state",
        "order",
        "orders",
        "position",
        "position_quantity",
        "positions",
        "put_order",
        "require_own",
        "risk_state",
        "set_integrity_state",
        "set_position",
        "set_risk_state",
        "_check_state",
    }


@pytest.mark.parametrize(
    "attempt",
    [
        lambda main: main.put_order(_order("EXP")),
        lambda main: main.put_order(_order("EXP", owner="MAIN")),  # EXP's namespace
        lambda main: main.put_order(_order("MAIN", owner="EXP")),
        lambda main: main.order(client_order_id("EXP", RUN, 1)),
        lambda main: main.order("BROKER-123"),
        lambda main: main.set_risk_state(EngineState(engine_id="EXP", halted=True)),
        lambda main: main.set_integrity_state(EngineState(engine_id="EXP", halted=True)),
    ],
    ids=[
        "put_exp_order",
        "put_order_in_exp_namespace",
        "put_exp_owned_order",
        "read_exp_order",
        "read_foreign_order",
        "set_exp_risk_state",
        "set_exp_integrity_state",
    ],
)
def fault_cross_engine_access_raises_and_changes_nothing(attempt: object) -> None:
    main, exp = _scopes()
    exp.put_order(_order("EXP"))
    exp.set_risk_state(EngineState(engine_id="EXP", halted=False))
    with pytest.raises(CrossEngineAccessError) as caught:
        attempt(main)  # type: ignore[operator]
    assert caught.value.reason_code == "CROSS_ENGINE_ACCESS"
    assert caught.value.scope_engine == "MAIN"
    assert "engine MAIN's scope cannot access" in str(caught.value)
    assert dict(main.orders()) == {}
    assert main.risk_state is None
    assert main.integrity_state is None
    assert exp.risk_state == EngineState(engine_id="EXP", halted=False)
    assert list(exp.orders()) == [client_order_id("EXP", RUN, 1)]


def unit_scope_stores_its_own_orders_and_state() -> None:
    main, _ = _scopes()
    order = _order("MAIN")
    main.put_order(order)
    filled = order.model_copy(update={"status": OrderStatus.FILLED, "filled_quantity": D(10)})
    main.put_order(filled)
    assert main.order(order.client_order_id) == filled
    assert main.order(client_order_id("MAIN", RUN, 99)) is None
    state = EngineState(engine_id="MAIN", halted=True)
    main.set_risk_state(state)
    main.set_integrity_state({"sticky": "HALT_NEW"})  # a state without an engine id is accepted
    assert main.risk_state is state
    assert main.integrity_state == {"sticky": "HALT_NEW"}


def unit_store_hands_out_one_scope_per_registered_engine() -> None:
    store = EngineStateStore(["MAIN", "EXP"])
    assert store.engine_ids == ("EXP", "MAIN")
    assert store.scope("MAIN") is store.scope("MAIN")
    assert store.scope("MAIN") is not store.scope("EXP")
    with pytest.raises(UnknownEngineError, match="no scope registered for engine 'LIVE2'"):
        store.scope("LIVE2")


@pytest.mark.parametrize(
    ("engines", "codes"),
    [
        (["MAIN", "MAIN"], ["ENGINE_ID_DUPLICATE"]),
        (["main"], ["ENGINE_ID_INVALID"]),
    ],
)
def unit_store_refuses_bad_engine_lists(engines: list[str], codes: list[str]) -> None:
    with pytest.raises(EngineSettingsError) as caught:
        EngineStateStore(engines)
    assert [v.reason_code for v in caught.value.violations] == codes
