"""The gateway's pre-trade checks as plain functions, so every order path runs the same code.

:class:`~mqk_execution.ExecutionGateway` calls them before it sends anything; a backtest kernel
that simulates the broker itself calls exactly the same ones (and treats any refusal as a reason
to hand the run back to the full engine).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from mqk_execution._arming import ArmVerifier
from mqk_execution._events import GateCheck
from mqk_execution._protocols import AllocationCheck, IntegrityView, PreTradeContext, RiskCheck
from mqk_schemas import Action, Decision, OrderIntent, Side, Topic, trusted

__all__ = ["blocks", "first_refusal", "is_reducing", "refusal_record"]

# enum members read once (a class attribute lookup costs ~70 ns, hashing one for a set ~150 ns)
_ALLOW: Final = Action.ALLOW
_REJECT: Final = Action.REJECT
_HALT_NEW: Final = Action.HALT_NEW
_FLATTEN_AND_HALT: Final = Action.FLATTEN_AND_HALT
_ARMED: Final = GateCheck.ARMED
_INTEGRITY: Final = GateCheck.INTEGRITY
_RISK: Final = GateCheck.RISK
_ALLOCATION: Final = GateCheck.ALLOCATION
_RISK_TOPIC: Final = Topic.RISK
_OMS_TOPIC: Final = Topic.OMS
_BUY: Final = Side.BUY


def blocks(decision: Decision, reducing: bool) -> bool:
    """True when ``decision`` refuses an order: halts refuse only risk-increasing ones."""
    action = decision.action
    if action is _ALLOW:
        return False
    if action is _HALT_NEW or action is _FLATTEN_AND_HALT:
        return not reducing
    return True


def is_reducing(position: Decimal, side: Side, quantity: Decimal, pending: Decimal) -> bool:
    """True when an order can only bring ``position`` towards zero: it is on the opposite side
    and, with the ``pending`` unfilled same-side quantity, does not exceed the position."""
    # the sign test written out: Side.sign is an interpreted property, read once per order
    opposite = position < 0 if side is _BUY else position > 0
    return opposite and pending + quantity <= abs(position)


def first_refusal(
    intent: OrderIntent,
    context: PreTradeContext,
    arm_token: object,
    *,
    arm: ArmVerifier,
    integrity: IntegrityView,
    risk: RiskCheck,
    allocation: AllocationCheck,
) -> tuple[GateCheck, Decision] | None:
    """The first check that refuses ``intent`` (ARMED -> INTEGRITY -> RISK -> ALLOCATION) and
    its decision, or None when every check passes. Allocation is checked for risk-increasing
    orders only."""
    armed = arm.verify(arm_token)
    if armed.action is not _ALLOW:
        return _ARMED, armed
    reducing = context.reducing
    decision = integrity.integrity_decision(intent.symbol)
    if blocks(decision, reducing):
        return _INTEGRITY, decision
    decision = risk.check(intent, context)
    if blocks(decision, reducing):
        return _RISK, decision
    if not reducing:
        decision = allocation.check(intent, context)
        if blocks(decision, False):
            return _ALLOCATION, decision
    return None


def refusal_record(
    intent: OrderIntent,
    check: GateCheck,
    upstream: Decision,
    context: PreTradeContext | None,
) -> tuple[Decision, Topic, dict[str, Any]]:
    """What a refusal by ``check`` is: the gateway's decision (``upstream`` with the order's
    evidence; an ALLOW upstream becomes REJECT), and the topic and payload of its
    ``ORDER_REFUSED`` event."""
    # enum texts as ._value_: .value is an interpreted property (a refusal is a hot path when
    # a capped engine refuses entry after entry)
    name = check._value_
    coid = intent.client_order_id
    upstream_action = upstream.action
    evidence: dict[str, Any] = {
        "check": name,
        "client_order_id": coid,
        "symbol": intent.symbol,
        "side": intent.side._value_,
        "quantity": intent.quantity,
        "upstream_action": upstream_action._value_,
        "upstream_evidence": dict(upstream.evidence),
    }
    if context is not None:
        evidence["position"] = context.position
        evidence["pending_same_side"] = context.pending_same_side
        evidence["reducing"] = context.reducing
    action = upstream_action if upstream_action is not _ALLOW else _REJECT
    reason_code = upstream.reason_code
    decision = trusted(  # from the upstream decision's valid parts: no second validation
        Decision,
        {
            "action": action,
            "reason_code": reason_code,
            "message": f"{name} check refused {coid}: {upstream.message}",
            "evidence": evidence,
        },
    )
    payload = {"reason_code": reason_code, "action": action._value_} | evidence
    topic = _RISK_TOPIC if check is _RISK or check is _ALLOCATION else _OMS_TOPIC
    return decision, topic, payload
