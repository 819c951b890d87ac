"""The gateway's pre-trade checks as optimised (enum members read once, no RiskContext built
by the risk adapter) against reference copies of the previous code over generated decisions,
orders and contexts: the same refusing check and decision object, and for every refusal the
same decision (action, reason code, message, evidence with its key order and values), topic
and ORDER_REFUSED payload."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_execution import (
    ArmAuthority,
    GateCheck,
    PreTradeContext,
    RiskEngineCheck,
    blocks,
    first_refusal,
    refusal_record,
)
from mqk_risk import RiskContext, RiskEngine, load_risk_limits
from mqk_schemas import (
    Action,
    Decision,
    Fill,
    OrderIntent,
    OrderType,
    Side,
    Topic,
    client_order_id,
)

D = Decimal
RUN = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
_HALTS = frozenset({Action.HALT_NEW, Action.FLATTEN_AND_HALT})


# -- the previous code (reference oracles) ---------------------------------------------------


def reference_blocks(decision: Decision, reducing: bool) -> bool:
    if decision.action is Action.ALLOW:
        return False
    if decision.action in _HALTS:
        return not reducing
    return True


def reference_first_refusal(
    intent: OrderIntent, context: PreTradeContext, token: object, *, arm: Any, integrity: Any,
    risk: Any, allocation: Any,
) -> tuple[GateCheck, Decision] | None:  # fmt: skip
    armed = arm.verify(token)
    if not armed.allowed:
        return GateCheck.ARMED, armed
    decision = integrity.integrity_decision(intent.symbol)
    if reference_blocks(decision, context.reducing):
        return GateCheck.INTEGRITY, decision
    decision = risk.check(intent, context)
    if reference_blocks(decision, context.reducing):
        return GateCheck.RISK, decision
    if not context.reducing:
        decision = allocation.check(intent, context)
        if reference_blocks(decision, False):
            return GateCheck.ALLOCATION, decision
    return None


def reference_refusal_record(
    intent: OrderIntent, check: GateCheck, upstream: Decision, context: PreTradeContext | None
) -> tuple[Decision, Topic, dict[str, Any]]:
    evidence: dict[str, Any] = {
        "check": check.value,
        "client_order_id": intent.client_order_id,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "quantity": intent.quantity,
        "upstream_action": upstream.action.value,
        "upstream_evidence": dict(upstream.evidence),
    }
    if context is not None:
        evidence["position"] = context.position
        evidence["pending_same_side"] = context.pending_same_side
        evidence["reducing"] = context.reducing
    action = upstream.action if upstream.action is not Action.ALLOW else Action.REJECT
    decision = Decision(
        action=action,
        reason_code=upstream.reason_code,
        message=f"{check.value} check refused {intent.client_order_id}: {upstream.message}",
        evidence=evidence,
    )
    payload = {"reason_code": decision.reason_code, "action": action.value} | evidence
    topic = Topic.RISK if check in (GateCheck.RISK, GateCheck.ALLOCATION) else Topic.OMS
    return decision, topic, payload


# -- generated inputs ------------------------------------------------------------------------


def _same(got: Any, want: Any) -> None:
    """Equal, with every dict's key order and every value's repr (Decimal exponents)."""
    assert repr(got) == repr(want)
    assert got == want


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    action = draw(st.sampled_from(list(Action)))
    keys = draw(st.lists(st.sampled_from(["ts", "limit", "b", "a", "position"]), unique=True))
    values = st.one_of(st.decimals(allow_nan=False, allow_infinity=False), st.text(max_size=4))
    return Decision(
        action=action,
        reason_code=draw(st.sampled_from(["OK", "RISK_HALTED", "ENGINE_CAP_EXCEEDED", "X"])),
        message=draw(st.text(max_size=12)),
        evidence={key: draw(values) for key in keys},
    )


quantities = st.decimals(min_value=D("0.00000001"), max_value=D(10**6), places=8)
positions = st.decimals(min_value=D(-(10**6)), max_value=D(10**6), places=4)


@st.composite
def orders(draw: st.DrawFn) -> tuple[OrderIntent, PreTradeContext]:
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    quantity = draw(quantities)
    seq = draw(st.integers(0, 10**6))
    symbol = draw(st.sampled_from(["AAPL", "MSFT", "BRK.B"]))
    intent = OrderIntent(
        engine_id="MAIN",
        intent_seq=seq,
        client_order_id=client_order_id("MAIN", RUN, seq),
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET,
    )
    context = PreTradeContext(
        engine_id="MAIN",
        run_id=RUN,
        ts_utc=T0 + timedelta(minutes=draw(st.integers(0, 10**5))),
        symbol=symbol,
        side=side,
        quantity=quantity,
        position=draw(positions),
        pending_same_side=draw(st.sampled_from([D(0), D("0E-8"), D(5), D("2.5")])),
        reducing=draw(st.booleans()),
        reference_price=draw(st.decimals(min_value=D("0.01"), max_value=D(10**4), places=2)),
        session=draw(st.sampled_from([None, date(2024, 3, 1)])),
    )
    return intent, context


class Answers:
    """Arm verifier, integrity view, risk and allocation checks answering fixed decisions."""

    def __init__(self, armed: Decision, integrity: Decision, risk: Decision, alloc: Decision):
        self.answers = (armed, integrity, risk, alloc)

    def verify(self, token: object) -> Decision:
        return self.answers[0]

    def integrity_decision(self, symbol: str) -> Decision:
        return self.answers[1]

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        return self.answers[2]


class Allocation:
    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        return self.decision


# -- the invariants --------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(orders(), decisions(), decisions(), decisions(), decisions())
def invariant_first_refusal_equals_the_reference(
    order: tuple[OrderIntent, PreTradeContext],
    armed: Decision,
    integrity: Decision,
    risk: Decision,
    allocation: Decision,
) -> None:
    intent, context = order
    answers = Answers(armed, integrity, risk, allocation)
    views: dict[str, Any] = {
        "arm": answers,
        "integrity": answers,
        "risk": answers,
        "allocation": Allocation(allocation),
    }
    got = first_refusal(intent, context, None, **views)
    want = reference_first_refusal(intent, context, None, **views)
    if want is None:
        assert got is None
    else:
        assert got is not None
        assert got[0] is want[0]
        assert got[1] is want[1]  # the upstream decision itself


@settings(max_examples=400, deadline=None)
@given(decisions(), st.booleans())
def invariant_blocks_equals_the_reference(decision: Decision, reducing: bool) -> None:
    assert blocks(decision, reducing) is reference_blocks(decision, reducing)


@settings(max_examples=400, deadline=None)
@given(orders(), st.sampled_from(list(GateCheck)), decisions(), st.booleans())
def invariant_refusal_record_equals_the_reference(
    order: tuple[OrderIntent, PreTradeContext],
    check: GateCheck,
    upstream: Decision,
    with_context: bool,
) -> None:
    intent, context = order
    given_context = context if with_context else None
    decision, topic, payload = refusal_record(intent, check, upstream, given_context)
    want_decision, want_topic, want_payload = reference_refusal_record(
        intent, check, upstream, given_context
    )
    _same(decision, want_decision)
    assert list(decision.evidence) == list(want_decision.evidence)
    assert topic is want_topic
    _same(payload, want_payload)
    assert list(payload) == list(want_payload)


RISK = {
    "kill_switches_enabled": True,
    "daily_loss_limit": "0.05",
    "max_drawdown": "0.10",
    "max_position_quantity": "500",
    "max_position_notional": "60000",
    "max_gross_exposure": "1.0",
    "max_leverage": "1.0",
    "allow_short": False,
    "reject_storm": {"max_rejects": 5, "window_seconds": 300},
    "pdt": {"mode": "auto", "equity_threshold": "25000", "max_day_trades": 0, "window_sessions": 5},
    "stale_data_seconds": 864000,
    "require_protective_stop": False,
    "desync_action": "HALT_NEW",
}


class Portfolio:
    def __init__(self, position: Decimal, equity: Decimal) -> None:
        self._position, self.equity, self.gross_exposure = position, equity, abs(position) * 100

    def position(self, symbol: str) -> Decimal:
        return self._position

    def positions(self) -> dict[str, Decimal]:
        return {"AAPL": self._position}


@settings(max_examples=300, deadline=None)
@given(
    orders(),
    st.sampled_from([D(100_000), D(20_000), D(-5)]),
    st.sampled_from([None, Action.HALT_NEW, Action.DISARM]),
    st.booleans(),
)
def invariant_risk_adapter_equals_the_engine_check_with_a_context(
    order: tuple[OrderIntent, PreTradeContext],
    equity: Decimal,
    halt: Action | None,
    opened: bool,
) -> None:
    """RiskEngineCheck (check_order, no RiskContext built) decides as RiskEngine.check with the
    RiskContext the adapter built before (``opened``: a position opened in the context's
    session, so a closing order's PDT decision reads the session it is given)."""
    intent, context = order
    engine = RiskEngine(
        load_risk_limits(RISK),
        engine_id="MAIN",
        session_of=lambda ts: ts.date(),
        initial_equity=D(100_000),
    )
    if opened and context.position:
        fill = Fill(
            broker_fill_id="F1",
            client_order_id=intent.client_order_id,
            engine_id="MAIN",
            symbol=intent.symbol,
            side=Side.BUY if context.position > 0 else Side.SELL,
            quantity=abs(context.position),
            price=D(100),
            ts_utc=T0,
        )
        engine.on_fill(fill, position_before=D(0), session=date(2024, 3, 1))
    if halt is not None:
        engine.halt(T0, reason="test", operator="op", action=halt)
    portfolio = Portfolio(context.position, equity)
    got = RiskEngineCheck(engine, portfolio).check(intent, context)
    want = engine.check(
        intent,
        RiskContext(
            ts=context.ts_utc,
            portfolio=portfolio,
            price=context.reference_price,
            pending_same_side=context.pending_same_side,
            session=context.session,
        ),
    )
    _same(got, want)
    assert list(got.evidence) == list(want.evidence)


def scenario_the_real_arm_verifier_refuses_a_revoked_token_first() -> None:
    authority = ArmAuthority(RUN, "MAIN")
    token = authority.arm()
    authority.disarm()
    intent = OrderIntent(
        engine_id="MAIN",
        intent_seq=1,
        client_order_id=client_order_id("MAIN", RUN, 1),
        symbol="AAPL",
        side=Side.BUY,
        quantity=D(1),
    )
    context = PreTradeContext(
        engine_id="MAIN", run_id=RUN, ts_utc=T0, symbol="AAPL", side=Side.BUY, quantity=D(1),
        position=D(0), pending_same_side=D(0), reducing=False, reference_price=D(100),
    )  # fmt: skip
    allow = Answers(*[Decision.allow()] * 4)
    views: dict[str, Any] = {"integrity": allow, "risk": allow, "allocation": allow}
    got = first_refusal(intent, context, token, arm=authority.verifier, **views)
    assert got is not None
    assert got[0] is GateCheck.ARMED
    assert got[1].reason_code == "NOT_ARMED"
