"""ExecutionGateway: check order, arming, halts vs reducing orders, refusals as events,
idempotent submits, and proof that nothing but the gateway can reach the broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from mqk_execution import (
    NOT_ARMED,
    ArmAuthority,
    ArmingError,
    ArmToken,
    Bracket,
    BrokerAccessError,
    BrokerCapability,
    ExecutionGateway,
    ExecutionSettings,
    GateCheck,
    PreTradeContext,
    SimBroker,
    UnknownOrderError,
)
from mqk_schemas import Action, EventEnvelope, OrderIntent, OrderStatus, OrderType, Side, Topic

if TYPE_CHECKING:
    from conftest import Harness

D = Decimal
A = Action
_T = datetime(2024, 1, 2, tzinfo=UTC)


def _hold(h: Harness, quantity: str) -> None:
    """Bring the position to ``quantity`` (signed) through real fills, then idle."""
    h.flat_bar("100")
    q = D(quantity)
    h.submit(Side.BUY if q > 0 else Side.SELL, str(abs(q)))
    h.flat_bar("100")
    assert h.positions.position("AAPL") == q


@pytest.mark.parametrize(
    ("armed", "integrity", "risk", "allocation", "expected_check", "expected_reason"),
    [
        (False, A.DISARM, A.REJECT, A.REJECT, GateCheck.ARMED, NOT_ARMED),
        (True, A.DISARM, A.REJECT, A.REJECT, GateCheck.INTEGRITY, "FAKE_BLOCK"),
        (True, A.HALT_NEW, A.HALT_NEW, A.REJECT, GateCheck.INTEGRITY, "FAKE_BLOCK"),
        (True, A.ALLOW, A.REJECT, A.REJECT, GateCheck.RISK, "FAKE_BLOCK"),
        (True, A.ALLOW, A.FLATTEN_AND_HALT, A.REJECT, GateCheck.RISK, "FAKE_BLOCK"),
        (True, A.ALLOW, A.ALLOW, A.REJECT, GateCheck.ALLOCATION, "FAKE_BLOCK"),
        (True, A.ALLOW, A.ALLOW, A.ALLOW, None, "ACCEPTED"),
    ],
)
def contract_first_failing_check_in_documented_order_is_the_reason(
    harness: Harness,
    armed: bool,
    integrity: Action,
    risk: Action,
    allocation: Action,
    expected_check: GateCheck | None,
    expected_reason: str,
) -> None:
    for fake, action in (
        (harness.integrity, integrity),
        (harness.risk, risk),
        (harness.allocation, allocation),
    ):
        if action is not A.ALLOW:
            fake.set(action)
    if not armed:
        harness.authority.disarm()
    harness.flat_bar("100")
    result = harness.submit(Side.BUY, "10")
    assert result.check is expected_check
    assert result.decision.reason_code == expected_reason
    assert result.accepted is (expected_check is None)
    order = [GateCheck.ARMED, GateCheck.INTEGRITY, GateCheck.RISK, GateCheck.ALLOCATION]
    reached = order.index(expected_check) if expected_check is not None else len(order) - 1
    calls = [harness.integrity.calls, harness.risk.calls, harness.allocation.calls]
    for i, made in enumerate(calls, start=1):
        assert bool(made) is (i <= reached), f"{order[i]} called: {made}"
    assert len(harness.broker.snapshot().orders) == (0 if expected_check else 1)


def _foreign_tokens(h: Harness) -> dict[str, Callable[[], object]]:
    other_run = ArmAuthority(uuid.UUID(int=7), "MAIN")
    same_ids = ArmAuthority(h.authority.run_id, "MAIN")

    def revoked() -> object:
        token = h.token
        h.authority.disarm()
        return token

    def superseded() -> object:
        token = h.token
        h.authority.arm()
        return token

    return {
        "no token": lambda: None,
        "revoked on halt": revoked,
        "superseded by a re-arm": superseded,
        "minted by another authority for the same run": same_ids.arm,
        "minted for another run": other_run.arm,
        "hand-made token object": lambda: ArmToken(h.authority.run_id, "MAIN", 1),
        "not a token at all": lambda: "ARMED",
    }


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "revoked on halt",
        "superseded by a re-arm",
        "minted by another authority for the same run",
        "minted for another run",
        "hand-made token object",
        "not a token at all",
    ],
)
def contract_not_armed_is_refused_and_nothing_reaches_the_broker(
    harness: Harness, case: str
) -> None:
    token = _foreign_tokens(harness)[case]()
    harness.flat_bar("100")
    result = harness.gateway.submit(harness.intent(Side.BUY, "1"), arm_token=token)
    assert not result.accepted
    assert (result.check, result.decision.reason_code) == (GateCheck.ARMED, NOT_ARMED)
    assert result.decision.evidence["upstream_evidence"]["cause"]
    assert harness.broker.snapshot().orders == ()
    assert harness.integrity.calls == []


def contract_refusal_is_a_decision_and_an_event_never_an_exception(harness: Harness) -> None:
    harness.risk.set(A.REJECT, "KILL_SWITCH_MAX_POSITION", limit=D(5))
    harness.flat_bar("100")
    result = harness.submit(Side.BUY, "10")
    assert not result.accepted
    assert result.order is None
    decision = result.decision
    assert (decision.action, decision.reason_code) == (A.REJECT, "KILL_SWITCH_MAX_POSITION")
    assert decision.evidence["check"] == "RISK"
    assert decision.evidence["upstream_evidence"] == {"limit": D(5)}
    assert decision.evidence["quantity"] == D(10)
    (event,) = [e for e in harness.events if e.event_type == "ORDER_REFUSED"]
    assert event.topic is Topic.RISK
    assert event.payload["reason_code"] == "KILL_SWITCH_MAX_POSITION"
    assert event.client_order_id == result.decision.evidence["client_order_id"]


@pytest.mark.parametrize("source", ["integrity", "risk"])
@pytest.mark.parametrize(
    ("action", "reducing_passes", "increasing_passes"),
    [
        (A.HALT_NEW, True, False),
        (A.FLATTEN_AND_HALT, True, False),
        (A.REJECT, False, False),
        (A.DISARM, False, False),
    ],
)
def contract_halts_pass_only_risk_reducing_orders(
    harness: Harness, source: str, action: Action, reducing_passes: bool, increasing_passes: bool
) -> None:
    _hold(harness, "10")
    getattr(harness, source).set(action)
    reducing = harness.submit(Side.SELL, "4")
    increasing = harness.submit(Side.BUY, "1")
    assert reducing.reducing is True
    assert increasing.reducing is False
    assert reducing.accepted is reducing_passes
    assert increasing.accepted is increasing_passes


@pytest.mark.parametrize(
    ("position", "side", "quantity", "pending", "expected"),
    [
        ("10", Side.SELL, "10", None, True),
        ("10", Side.SELL, "11", None, False),  # would flip short
        ("10", Side.BUY, "1", None, False),
        ("0", Side.SELL, "1", None, False),
        ("-5", Side.BUY, "5", None, True),
        ("-5", Side.SELL, "1", None, False),
        ("10", Side.SELL, "6", "5", False),  # with the sell already working: 11 > 10
        ("10", Side.SELL, "5", "5", True),
    ],
)
def unit_reducing_is_decided_from_the_ledger_and_working_orders(
    harness: Harness,
    position: str,
    side: Side,
    quantity: str,
    pending: str | None,
    expected: bool,
) -> None:
    if D(position) != 0:
        _hold(harness, position)
    else:
        harness.flat_bar("100")
    if pending is not None:
        assert harness.submit(Side.SELL, pending, OrderType.LIMIT, limit="200").accepted
    harness.integrity.set(A.HALT_NEW)
    result = harness.submit(side, quantity)
    assert result.reducing is expected
    assert result.accepted is expected


def contract_reduce_only_flag_is_not_trusted(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.integrity.set(A.HALT_NEW)
    intent = harness.intent(Side.SELL, "5").model_copy(update={"reduce_only": True})
    result = harness.gateway.submit(intent, arm_token=harness.token)
    assert not result.accepted
    assert result.reducing is False


def contract_flatten_passes_a_halt_while_a_protective_stop_rests(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10", bracket=Bracket(D(90), D(120)))
    harness.flat_bar("100")
    assert len(harness.gateway.open_orders()) == 2  # stop + target rest as protection
    harness.risk.set(A.HALT_NEW, "KILL_SWITCH_DAILY_LOSS")
    result = harness.submit(Side.SELL, "10")
    assert result.accepted
    assert result.reducing is True
    harness.flat_bar("100")
    assert harness.positions.position("AAPL") == 0


def contract_allocation_cap_is_not_consulted_for_reducing_orders(harness: Harness) -> None:
    _hold(harness, "10")
    harness.allocation.set(A.REJECT, "ENGINE_CAP_EXCEEDED")
    harness.allocation.calls.clear()
    assert harness.submit(Side.SELL, "10").accepted
    assert harness.allocation.calls == []
    assert not harness.submit(Side.BUY, "1").accepted
    assert len(harness.allocation.calls) == 1


def contract_checks_receive_the_pre_trade_context(harness: Harness) -> None:
    seen: list[PreTradeContext] = []

    class Recording:
        def check(self, intent: OrderIntent, context: PreTradeContext) -> Any:
            seen.append(context)
            return harness.risk.decision

    harness.gateway._risk = Recording()  # test-only swap of the risk check
    _hold(harness, "10")
    harness.gateway.submit(
        harness.intent(Side.SELL, "3"), arm_token=harness.token, reference_price=D("101.5")
    )
    ctx = seen[-1]
    assert (ctx.engine_id, ctx.run_id, ctx.symbol, ctx.side) == (
        "MAIN",
        harness.authority.run_id,
        "AAPL",
        Side.SELL,
    )
    assert (ctx.quantity, ctx.position, ctx.pending_same_side, ctx.reducing) == (
        D(3),
        D(10),
        D(0),
        True,
    )
    assert ctx.reference_price == D("101.5")
    assert ctx.ts_utc == harness.clock.now


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"shadow": True}, "SHADOW_INTENT"), ({"engine_id": "EXP"}, "ENGINE_MISMATCH")],
)
def contract_unexecutable_intents_are_refused_before_any_check(
    harness: Harness, changes: dict[str, Any], reason: str
) -> None:
    intent = harness.intent(Side.BUY, "1")
    if "engine_id" in changes:
        changes["client_order_id"] = "EXP" + intent.client_order_id[4:]
    result = harness.gateway.submit(intent.model_copy(update=changes), arm_token=harness.token)
    assert (result.accepted, result.check, result.decision.reason_code) == (
        False,
        GateCheck.INTENT,
        reason,
    )
    assert harness.integrity.calls == []


def contract_duplicate_submit_returns_the_existing_order_and_creates_nothing(
    harness: Harness,
) -> None:
    harness.flat_bar("100")
    intent = harness.intent(Side.BUY, "10")
    first = harness.gateway.submit(intent, arm_token=harness.token)
    second = harness.gateway.submit(intent, arm_token=harness.token)
    assert first.accepted
    assert second.duplicate
    assert second.order == first.order
    assert len(harness.gateway.orders()) == 1
    assert len(harness.broker.snapshot().orders) == 1
    assert harness.event_types().count("ORDER_SENT") == 1
    harness.flat_bar("100")
    assert harness.positions.position("AAPL") == D(10)


def contract_broker_submit_is_idempotent_on_client_order_id() -> None:
    updates: list[Any] = []
    broker = SimBroker(ExecutionSettings(), clock=lambda: _T)
    capability = BrokerCapability()
    broker.bind(capability, updates.append)
    intent = OrderIntent(
        engine_id="MAIN", intent_seq=0, client_order_id="MAIN_r_0", symbol="AAPL",
        side=Side.BUY, quantity=D(3),
    )  # fmt: skip
    first = broker.submit(capability, intent)
    again = broker.submit(capability, intent.model_copy(update={"quantity": D(99)}))
    assert again == first
    assert again.quantity == D(3)
    assert len(broker.snapshot().orders) == 1
    assert len(updates) == 1


def contract_gateway_exposes_neither_the_broker_nor_its_capability(harness: Harness) -> None:
    for name in dir(harness.gateway):
        if name.startswith("_"):
            continue
        value = getattr(harness.gateway, name)
        assert not isinstance(value, SimBroker | BrokerCapability), name
    snapshot = harness.gateway.broker_snapshot()
    assert not hasattr(snapshot, "submit")


def contract_broker_refuses_calls_without_the_gateways_capability(harness: Harness) -> None:
    harness.flat_bar("100")
    placed = harness.submit(Side.BUY, "1", OrderType.LIMIT, limit="90").order
    assert placed is not None
    intent = harness.intent(Side.BUY, "1000")
    forged = BrokerCapability()
    broker: Any = harness.broker
    with pytest.raises(BrokerAccessError):
        broker.submit(forged, intent)
    with pytest.raises(BrokerAccessError):
        broker.submit(None, intent)
    with pytest.raises(BrokerAccessError):
        broker.cancel(forged, placed.client_order_id)
    with pytest.raises(BrokerAccessError):
        broker.replace(forged, placed.client_order_id, intent)
    with pytest.raises(BrokerAccessError, match="already bound"):
        broker.bind(forged, None)
    assert len(harness.broker.snapshot().orders) == 1
    assert harness.gateway.order(placed.client_order_id).status is OrderStatus.SUBMITTED


def contract_a_second_gateway_cannot_take_over_a_bound_broker(harness: Harness) -> None:
    with pytest.raises(BrokerAccessError):
        ExecutionGateway(
            engine_id="MAIN",
            run_id=harness.authority.run_id,
            broker=harness.broker,
            arm_verifier=harness.authority.verifier,
            integrity=harness.integrity,
            risk=harness.risk,
            allocation=harness.allocation,
            positions=harness.positions,
            clock=harness.clock,
        )


def fault_unbound_broker_refuses_to_trade() -> None:
    broker = SimBroker(ExecutionSettings(), clock=lambda: _T)
    with pytest.raises(BrokerAccessError, match="not bound"):
        broker.submit(BrokerCapability(), _intent())


def fault_gateway_refuses_a_verifier_of_another_run(harness: Harness) -> None:
    other = ArmAuthority(uuid.UUID(int=99), "MAIN")
    with pytest.raises(ArmingError):
        ExecutionGateway(
            engine_id="MAIN",
            run_id=harness.authority.run_id,
            broker=SimBroker(ExecutionSettings(), clock=harness.clock),
            arm_verifier=other.verifier,
            integrity=harness.integrity,
            risk=harness.risk,
            allocation=harness.allocation,
            positions=harness.positions,
            clock=harness.clock,
        )


def scenario_replace_keeps_lineage_and_is_checked_like_a_submit(harness: Harness) -> None:
    harness.flat_bar("100")
    placed = harness.submit(Side.BUY, "10", OrderType.LIMIT, limit="95").order
    assert placed is not None
    result = harness.gateway.replace(
        placed.client_order_id, intent_seq=50, arm_token=harness.token, limit_price=D("97")
    )
    assert result.accepted
    assert result.order is not None
    new = result.order
    assert (new.replaces, new.limit_price, new.quantity) == (placed.client_order_id, D(97), D(10))
    assert harness.gateway.order(placed.client_order_id).status is OrderStatus.CANCELED
    assert harness.gateway.lineage(new.client_order_id) == (
        placed.client_order_id,
        new.client_order_id,
    )
    harness.bar("98", "98", "96.5", "97")
    assert harness.fill_log() == ((1, "10", "97"),)
    harness.authority.disarm()
    refused = harness.gateway.replace(new.client_order_id, intent_seq=51, arm_token=harness.token)
    assert (refused.accepted, refused.check) == (False, GateCheck.INTENT)  # it is FILLED


def scenario_replace_refused_when_not_armed(harness: Harness) -> None:
    harness.flat_bar("100")
    placed = harness.submit(Side.BUY, "10", OrderType.LIMIT, limit="95").order
    assert placed is not None
    harness.authority.disarm()
    result = harness.gateway.replace(
        placed.client_order_id, intent_seq=9, arm_token=harness.token, quantity=D(20)
    )
    assert (result.accepted, result.decision.reason_code) == (False, NOT_ARMED)
    assert harness.gateway.order(placed.client_order_id).status is OrderStatus.SUBMITTED


def scenario_replace_with_latency_is_rejected_if_the_old_order_filled_meanwhile(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(latency_bars={"replace": 1})
    h.flat_bar("100")
    placed = h.submit(Side.BUY, "10", OrderType.LIMIT, limit="95").order
    assert placed is not None
    result = h.gateway.replace(
        placed.client_order_id, intent_seq=40, arm_token=h.token, limit_price=D("96")
    )
    assert result.accepted
    assert result.order is not None
    h.bar("95", "95", "94", "95")  # old order still live on t+1: it fills
    h.flat_bar("95")  # t+2: the swap is due, but the old order changed
    assert h.gateway.order(placed.client_order_id).status is OrderStatus.FILLED
    assert h.gateway.order(result.order.client_order_id).status is OrderStatus.REJECTED
    assert h.positions.position("AAPL") == D(10)


def contract_cancel_is_allowed_while_disarmed(harness: Harness) -> None:
    harness.flat_bar("100")
    placed = harness.submit(Side.BUY, "10", OrderType.LIMIT, limit="95").order
    assert placed is not None
    harness.authority.disarm()
    assert harness.gateway.cancel(placed.client_order_id).status is OrderStatus.CANCELED
    with pytest.raises(UnknownOrderError):
        harness.gateway.cancel("MAIN_unknown_1")


def unit_execution_event_becomes_an_envelope(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "1")
    event = harness.events[0]
    envelope = event.to_envelope(run_id=harness.authority.run_id, engine_id="MAIN", seq=3)
    assert isinstance(envelope, EventEnvelope)
    assert (envelope.topic, envelope.event_type, envelope.seq) == (Topic.OMS, "ORDER_SENT", 3)
    assert envelope.correlation_id == event.client_order_id
    assert envelope.payload["quantity"] == D(1)


def scenario_order_lifecycle_events_in_order(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10")
    harness.flat_bar("100")
    assert harness.event_types() == ["ORDER_SENT", "ORDER_SUBMITTED", "ORDER_FILLED"]
    order = harness.gateway.orders()[0]
    assert order.broker_order_id is not None
    assert order.average_fill_price == D(100)


def _intent() -> OrderIntent:
    return OrderIntent(
        engine_id="MAIN",
        intent_seq=0,
        client_order_id="MAIN_x_0",
        symbol="AAPL",
        side=Side.BUY,
        quantity=D(1),
    )


def contract_reducing_order_is_sent_reduce_only_so_it_can_never_flip(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10", bracket=Bracket(D(95)))
    harness.flat_bar("100")  # entry filled; its protective stop rests
    harness.risk.set(A.HALT_NEW, "KILL_SWITCH_DAILY_LOSS")
    result = harness.submit(Side.SELL, "10")
    assert (result.accepted, result.reducing) == (True, True)
    assert result.order is not None
    sent = [e for e in harness.events if e.event_type == "ORDER_SENT"][-1]
    assert sent.payload["reduce_only"] is True
    harness.bar("94", "94", "90", "92")  # the stop acts first, at the gapped open
    assert harness.fill_log()[-1] == (2, "10", "94")
    assert harness.positions.position("AAPL") == 0  # the market sell did not open a short
    sell = harness.gateway.order(result.order.client_order_id)
    assert (sell.status, sell.filled_quantity) == (OrderStatus.CANCELED, D(0))


@pytest.mark.parametrize(
    ("new_stop", "accepted"),
    [("97", True), ("95", False), ("94", False), ("99.99", True)],
)
def contract_tighten_stop_only_tightens_a_protective_stop(
    harness: Harness, new_stop: str, accepted: bool
) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10", bracket=Bracket(D(95), D(120)))
    harness.flat_bar("100")
    (stop,) = [o for o in harness.gateway.open_orders() if o.order_type is OrderType.STOP]
    result = harness.gateway.tighten_stop(
        stop.client_order_id, D(new_stop), intent_seq=77, arm_token=harness.token
    )
    assert result.accepted is accepted
    (resting,) = [o for o in harness.gateway.open_orders() if o.order_type is OrderType.STOP]
    if accepted:
        assert result.order is not None
        assert resting.stop_price == D(new_stop)
        assert harness.gateway.is_protective(resting.client_order_id)
        assert harness.gateway.lineage(resting.client_order_id) == (
            stop.client_order_id,
            resting.client_order_id,
        )
        harness.bar("100", "100", "96", "96.5")  # trades down through the new stop only if >96
        expected = 0 if D(new_stop) >= D(96) else 10
        assert harness.positions.position("AAPL") == expected
    else:
        assert result.decision.reason_code == "STOP_NOT_TIGHTER"
        assert resting == stop


def scenario_tightened_stop_keeps_oco_with_the_target(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10", bracket=Bracket(D(95), D(120)))
    harness.flat_bar("100")
    (stop,) = [o for o in harness.gateway.open_orders() if o.order_type is OrderType.STOP]
    harness.gateway.tighten_stop(stop.client_order_id, D(99), intent_seq=5, arm_token=harness.token)
    harness.bar("100", "100", "98", "98")
    assert harness.fill_log()[-1] == (2, "10", "99")
    assert harness.gateway.open_orders() == ()  # the target was canceled by OCO
