"""Fault injection at the broker boundary: lost requests, dropped acks, duplicate and bogus
reports. A retry never creates a second order and a bad report never corrupts the OMS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mqk_execution import (
    ArmAuthority,
    Bracket,
    BrokerCapability,
    BrokerListener,
    BrokerUpdate,
    ExecutionGateway,
    ExecutionSettings,
    FillMismatchError,
    IllegalOrderTransition,
    OverfillError,
    SimBroker,
)
from mqk_schemas import (
    Action,
    BrokerSnapshot,
    Decision,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    Side,
    client_order_id,
)

RUN = uuid.UUID("5a5a5a5a-0000-4000-8000-000000000005")
T0 = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
D = Decimal


class FlakyBroker:
    """A BrokerAdapter around a SimBroker that can lose a request or drop its acknowledgement."""

    def __init__(self, inner: SimBroker) -> None:
        self.inner = inner
        self.lose_next_request = False
        self.drop_next_ack = False
        self.listener: BrokerListener | None = None

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        self.listener = listener
        self.inner.bind(capability, listener)

    def submit(
        self, capability: BrokerCapability, intent: OrderIntent, bracket: Bracket | None = None
    ) -> Order:
        if self.lose_next_request:
            self.lose_next_request = False
            raise ConnectionError("request lost before reaching the broker")
        order = self.inner.submit(capability, intent, bracket)
        if self.drop_next_ack:
            self.drop_next_ack = False
            raise ConnectionError("acknowledgement lost")
        return order

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        return self.inner.cancel(capability, client_order_id)

    def replace(
        self, capability: BrokerCapability, client_order_id: str, replacement: OrderIntent
    ) -> Order:
        return self.inner.replace(capability, client_order_id, replacement)

    def snapshot(self) -> BrokerSnapshot:
        return self.inner.snapshot()


class Allow:
    def position(self, symbol: str) -> Decimal:
        return D(0)

    def integrity_decision(self, symbol: str) -> Decision:
        return Decision.allow()

    def check(self, intent: object, context: object) -> Decision:
        return Decision.allow()


def _stack(*, silent: bool = False) -> tuple[ExecutionGateway, FlakyBroker, object]:
    inner = SimBroker(ExecutionSettings(), clock=lambda: T0)
    flaky = FlakyBroker(inner)
    authority = ArmAuthority(RUN, "MAIN")
    allow = Allow()
    gateway = ExecutionGateway(
        engine_id="MAIN",
        run_id=RUN,
        broker=flaky,
        arm_verifier=authority.verifier,
        integrity=allow,
        risk=allow,
        allocation=allow,
        positions=allow,
        clock=lambda: T0,
    )
    if silent:  # a broker that answers calls but never streams updates
        inner._listener = None
    return gateway, flaky, authority.arm()


def _intent(seq: int = 0) -> OrderIntent:
    return OrderIntent(
        engine_id="MAIN",
        intent_seq=seq,
        client_order_id=client_order_id("MAIN", RUN, seq),
        symbol="AAPL",
        side=Side.BUY,
        quantity=D(5),
    )


def fault_lost_request_leaves_order_new_and_a_retry_sends_it_once() -> None:
    gateway, broker, token = _stack()
    broker.lose_next_request = True
    with pytest.raises(ConnectionError):
        gateway.submit(_intent(), arm_token=token)
    assert gateway.order(_intent().client_order_id).status is OrderStatus.NEW
    assert broker.snapshot().orders == ()
    retry = gateway.submit(_intent(), arm_token=token)
    assert retry.accepted
    assert not retry.duplicate
    assert retry.order is not None
    assert retry.order.status is OrderStatus.SUBMITTED
    assert len(broker.snapshot().orders) == 1


def fault_dropped_ack_then_retry_creates_no_second_order() -> None:
    gateway, broker, token = _stack(silent=True)
    broker.drop_next_ack = True
    with pytest.raises(ConnectionError):
        gateway.submit(_intent(), arm_token=token)
    # the broker has the order; the OMS never heard back
    assert gateway.order(_intent().client_order_id).status is OrderStatus.NEW
    retry = gateway.submit(_intent(), arm_token=token)
    assert retry.order is not None
    assert retry.order.status is OrderStatus.SUBMITTED
    assert len(broker.snapshot().orders) == 1


def fault_order_never_sent_is_canceled_locally() -> None:
    gateway, broker, token = _stack()
    broker.lose_next_request = True
    with pytest.raises(ConnectionError):
        gateway.submit(_intent(), arm_token=token)
    canceled = gateway.cancel(_intent().client_order_id)
    assert canceled.status is OrderStatus.CANCELED
    assert broker.snapshot().orders == ()


def _report(gateway: ExecutionGateway, broker: FlakyBroker, update: BrokerUpdate) -> None:
    assert broker.listener is not None
    broker.listener(update)


def _fill(fill_id: str, quantity: str, **changes: object) -> Fill:
    fields: dict[str, object] = {
        "broker_fill_id": fill_id,
        "client_order_id": _intent().client_order_id,
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": D(quantity),
        "price": D(100),
        "ts_utc": T0,
    }
    fields.update(changes)
    return Fill(**fields)  # type: ignore[arg-type]


def fault_duplicate_fill_report_is_applied_once() -> None:
    gateway, broker, token = _stack()
    placed = gateway.submit(_intent(), arm_token=token).order
    assert placed is not None
    fill = _fill("X-1", "2")
    partial = placed.model_copy(
        update={"status": OrderStatus.PARTIALLY_FILLED, "filled_quantity": D(2)}
    )
    for _ in range(3):
        _report(gateway, broker, BrokerUpdate(order=partial, fill=fill))
    assert gateway.order(placed.client_order_id).filled_quantity == D(2)
    assert gateway.fills() == (fill,)


def fault_overfill_report_raises_and_leaves_the_oms_unchanged() -> None:
    gateway, broker, token = _stack()
    placed = gateway.submit(_intent(), arm_token=token).order
    assert placed is not None
    with pytest.raises(OverfillError):
        _report(gateway, broker, BrokerUpdate(order=placed, fill=_fill("X-9", "6")))
    assert gateway.order(placed.client_order_id).filled_quantity == 0


@pytest.mark.parametrize(
    ("status", "error"),
    [(OrderStatus.FILLED, FillMismatchError), (OrderStatus.NEW, IllegalOrderTransition)],
)
def fault_impossible_status_report_raises(status: OrderStatus, error: type[Exception]) -> None:
    gateway, broker, token = _stack()
    placed = gateway.submit(_intent(), arm_token=token).order
    assert placed is not None
    with pytest.raises(error):
        _report(gateway, broker, BrokerUpdate(order=placed.model_copy(update={"status": status})))
    assert gateway.order(placed.client_order_id).status is OrderStatus.SUBMITTED


class Holding(Allow):
    def position(self, symbol: str) -> Decimal:
        return D(5)


def fault_retried_order_does_not_count_itself_as_pending() -> None:
    inner = SimBroker(ExecutionSettings(), clock=lambda: T0)
    flaky = FlakyBroker(inner)
    authority = ArmAuthority(RUN, "MAIN")
    holding = Holding()
    halted = Allow()
    halted.integrity_decision = lambda symbol: Decision(  # type: ignore[method-assign]
        action=Action.HALT_NEW, reason_code="GAP"
    )
    gateway = ExecutionGateway(
        engine_id="MAIN",
        run_id=RUN,
        broker=flaky,
        arm_verifier=authority.verifier,
        integrity=halted,
        risk=holding,
        allocation=holding,
        positions=holding,
        clock=lambda: T0,
    )
    token = authority.arm()
    close = _intent().model_copy(update={"side": Side.SELL})
    flaky.lose_next_request = True
    with pytest.raises(ConnectionError):
        gateway.submit(close, arm_token=token)
    retry = gateway.submit(close, arm_token=token)  # still reducing: 5 of a 5 long
    assert (retry.accepted, retry.reducing) == (True, True)
    assert len(flaky.snapshot().orders) == 1
