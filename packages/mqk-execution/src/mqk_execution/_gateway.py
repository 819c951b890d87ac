"""ExecutionGateway: the single path from an engine to a broker.

Before anything is sent it checks, in this order (the first failure is the reason):

1. ARMED: the caller's arm token is the live token of this run's lifecycle (else NOT_ARMED);
2. INTEGRITY: the integrity view for the symbol is not halted or disarmed;
3. RISK: the risk check allows the order;
4. ALLOCATION: the engine's allocation cap allows it (risk-increasing orders only: an order
   that can only bring the position towards zero cannot raise gross exposure).

A HALT_NEW or FLATTEN_AND_HALT decision blocks only risk-increasing orders; REJECT and DISARM
block every order. Risk-reducing is decided here from the ledger position, never from the
intent's ``reduce_only`` flag: the order's side is opposite to the position and its quantity,
plus the engine's other open non-protective orders on the same side, does not exceed the
position. An order judged risk-reducing is sent with ``reduce_only`` set, so the broker enforces
the verdict too (it can never fill beyond the position it closes, e.g. after a protective stop
closed the position first). Every refusal is returned as a :class:`SubmitResult` and reported
to the event sink; refusals never raise.

The broker adapter and the capability that unlocks it are private to the gateway: nothing it
exposes returns either, and the adapter refuses any call that does not carry the capability.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from mqk_execution._arming import ArmVerifier
from mqk_execution._broker import Bracket, BrokerAdapter, BrokerCapability, BrokerUpdate
from mqk_execution._checks import first_refusal, is_reducing, refusal_record
from mqk_execution._events import EventSink, ExecutionEvent, GateCheck, SubmitResult
from mqk_execution._oms import OrderManager, check_transition
from mqk_execution._protocols import (
    AllocationCheck,
    Clock,
    IntegrityView,
    PositionView,
    PreTradeContext,
    RiskCheck,
)
from mqk_execution.errors import ArmingError, FillMismatchError
from mqk_schemas import (
    Action,
    BrokerSnapshot,
    Decision,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    Topic,
)
from mqk_schemas import client_order_id as make_client_order_id

__all__ = ["ExecutionGateway"]

_BROKER_STATES = frozenset({OrderStatus.SUBMITTED, OrderStatus.CANCELED, OrderStatus.REJECTED})


class ExecutionGateway:
    """The only way an engine's orders reach its broker (see the module docstring)."""

    def __init__(
        self,
        *,
        engine_id: str,
        run_id: uuid.UUID,
        broker: BrokerAdapter,
        arm_verifier: ArmVerifier,
        integrity: IntegrityView,
        risk: RiskCheck,
        allocation: AllocationCheck,
        positions: PositionView,
        clock: Clock,
        event_sink: EventSink | None = None,
        on_fill: Callable[[Fill], None] | None = None,
    ) -> None:
        if arm_verifier.run_id != run_id or arm_verifier.engine_id != engine_id:
            raise ArmingError(
                f"arm verifier is for run {arm_verifier.run_id} engine {arm_verifier.engine_id}, "
                f"not run {run_id} engine {engine_id}"
            )
        self._engine_id = engine_id
        self._run_id = run_id
        self._arm = arm_verifier
        self._integrity = integrity
        self._risk = risk
        self._allocation = allocation
        self._positions = positions
        self._clock = clock
        self._sink = event_sink
        self._on_fill = on_fill
        self._oms = OrderManager()
        self.__capability = BrokerCapability()
        self.__broker = broker
        broker.bind(self.__capability, self._on_broker_update)

    # -- read-only views --------------------------------------------------------------------

    @property
    def engine_id(self) -> str:
        """The engine whose orders pass here."""
        return self._engine_id

    @property
    def run_id(self) -> uuid.UUID:
        """The run whose arm token is required."""
        return self._run_id

    def order(self, client_order_id: str) -> Order:
        """The OMS state of one order."""
        return self._oms.get(client_order_id)

    def orders(self) -> tuple[Order, ...]:
        """Every order the OMS knows, oldest first."""
        return self._oms.orders()

    def open_orders(self, symbol: str | None = None) -> tuple[Order, ...]:
        """Orders not yet FILLED, CANCELED or REJECTED."""
        return self._oms.open_orders(symbol)

    def fills(self, client_order_id: str | None = None) -> tuple[Fill, ...]:
        """Fills applied to the OMS (deduplicated by broker_fill_id)."""
        return self._oms.fills(client_order_id)

    def lineage(self, client_order_id: str) -> tuple[str, ...]:
        """The cancel/replace chain ending at ``client_order_id``, oldest first."""
        return self._oms.lineage(client_order_id)

    def is_protective(self, client_order_id: str) -> bool:
        """True for a bracket exit leg."""
        return self._oms.is_protective(client_order_id)

    def pending_quantity(self, symbol: str) -> Decimal:
        """Signed unfilled quantity of open non-protective orders (for ``targets_to_intents``)."""
        return self._oms.pending_quantity(symbol)

    def broker_snapshot(self) -> BrokerSnapshot:
        """The broker's read-only snapshot, for reconciliation."""
        return self.__broker.snapshot()

    # -- commands ---------------------------------------------------------------------------

    def submit(
        self,
        intent: OrderIntent,
        *,
        arm_token: object,
        reference_price: Decimal | None = None,
        bracket: Bracket | None = None,
    ) -> SubmitResult:
        """Check ``intent`` and, if every check passes, send it (see the module docstring).

        A client_order_id already sent returns the existing order (``duplicate``) and sends
        nothing; one registered but never acknowledged (the broker call failed) is re-checked
        and re-sent, which the broker's idempotency makes safe.
        """
        ts = self._clock()
        problem = self._intent_problem(intent)
        if problem is not None:
            return self._refuse(intent, GateCheck.INTENT, problem, None, ts)
        known = self._oms.find(intent.client_order_id)
        if known is not None and known.status is not OrderStatus.NEW:
            return SubmitResult(
                accepted=True,
                decision=Decision.allow("DUPLICATE_SUBMIT"),
                order=known,
                duplicate=True,
            )
        # a retried, never-acknowledged order must not count as its own pending quantity
        exclude = intent.client_order_id if known is not None else None
        context = self._context(intent, reference_price, ts, exclude=exclude)
        refusal = self._gate(intent, context, arm_token)
        if refusal is not None:
            return refusal
        if context.reducing and not intent.reduce_only:
            intent = intent.model_copy(update={"reduce_only": True})
        if known is None:
            self._oms.register(self._new_order(intent, replaces=None))
        self._emit(Topic.OMS, "ORDER_SENT", intent.client_order_id, self._intent_payload(intent))
        returned = self.__broker.submit(self.__capability, intent, bracket)
        return self._accepted(returned, context)

    def replace(
        self,
        client_order_id: str,
        *,
        intent_seq: int,
        arm_token: object,
        quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reference_price: Decimal | None = None,
    ) -> SubmitResult:
        """Replace an open order by a new one (id from ``intent_seq``) with a new quantity/price.

        The replacement goes through the same checks as a submit (the replaced order does not
        count as pending); its ``replaces`` names the old order, so lineage is kept.
        """
        old = self._oms.get(client_order_id)
        new_coid = make_client_order_id(self._engine_id, self._run_id, intent_seq)
        intent = OrderIntent(
            engine_id=self._engine_id,
            intent_seq=intent_seq,
            client_order_id=new_coid,
            symbol=old.symbol,
            side=old.side,
            # a closed order has nothing remaining: its quantity only labels the refusal
            quantity=quantity if quantity is not None else old.remaining_quantity or old.quantity,
            order_type=old.order_type,
            limit_price=(limit_price or old.limit_price)
            if old.order_type is OrderType.LIMIT
            else None,
            stop_price=(stop_price or old.stop_price) if old.order_type is OrderType.STOP else None,
            time_in_force=old.time_in_force,
        )
        ts = self._clock()
        if old.status.is_terminal:
            closed = Decision(
                action=Action.REJECT,
                reason_code="REPLACE_TARGET_CLOSED",
                message=f"order {client_order_id} is {old.status.value}; nothing to replace",
                evidence={"client_order_id": client_order_id, "status": old.status.value},
            )
            return self._refuse(intent, GateCheck.INTENT, closed, None, ts)
        known = self._oms.find(new_coid)
        if known is not None and known.status is not OrderStatus.NEW:
            return SubmitResult(
                accepted=True,
                decision=Decision.allow("DUPLICATE_SUBMIT"),
                order=known,
                duplicate=True,
            )
        context = self._context(intent, reference_price, ts, exclude=client_order_id)
        refusal = self._gate(intent, context, arm_token)
        if refusal is not None:
            return refusal
        if context.reducing:
            intent = intent.model_copy(update={"reduce_only": True})
        if known is None:
            self._oms.register(
                self._new_order(intent, replaces=client_order_id),
                protective=self._oms.is_protective(client_order_id),
            )
        payload = self._intent_payload(intent) | {"replaces": client_order_id}
        self._emit(Topic.OMS, "REPLACE_SENT", new_coid, payload)
        returned = self.__broker.replace(self.__capability, client_order_id, intent)
        return self._accepted(returned, context)

    def tighten_stop(
        self,
        client_order_id: str,
        stop_price: Decimal,
        *,
        intent_seq: int,
        arm_token: object,
        reference_price: Decimal | None = None,
    ) -> SubmitResult:
        """Move an open STOP order (e.g. a bracket's protective stop) to ``stop_price`` by replace.

        A stop only ever tightens: a level that is not strictly closer to the market than the
        resting one (lower for a buy stop, higher for a sell stop) is refused with
        ``STOP_NOT_TIGHTER`` and nothing changes. Otherwise it is :meth:`replace` (same checks,
        lineage kept, protective flag inherited).
        """
        old = self._oms.get(client_order_id)
        current = old.stop_price
        if (
            old.order_type is not OrderType.STOP
            or current is None
            or (stop_price - current) * old.side.sign >= 0
        ):
            decision = Decision(
                action=Action.REJECT,
                reason_code="STOP_NOT_TIGHTER",
                message=f"stop of {client_order_id} may only tighten",
                evidence={
                    "client_order_id": client_order_id,
                    "side": old.side.value,
                    "order_type": old.order_type.value,
                    "current_stop": current,
                    "requested_stop": stop_price,
                },
            )
            self._emit(Topic.OMS, "ORDER_REFUSED", client_order_id, dict(decision.evidence))
            return SubmitResult(accepted=False, decision=decision, check=GateCheck.INTENT)
        return self.replace(
            client_order_id,
            intent_seq=intent_seq,
            arm_token=arm_token,
            stop_price=stop_price,
            reference_price=reference_price,
        )

    def cancel(self, client_order_id: str) -> Order:
        """Request a cancel (allowed armed or not: cancelling never adds exposure to a fill).

        A closed order is returned unchanged; an order never acknowledged by the broker is
        canceled locally.
        """
        order = self._oms.get(client_order_id)
        if order.status.is_terminal:
            return order
        ts = self._clock()
        if order.status is OrderStatus.NEW:
            self._oms.transition(client_order_id, OrderStatus.CANCELED, ts=ts)
            self._emit(Topic.OMS, "ORDER_CANCELED", client_order_id, {"reason": "NEVER_SENT"})
            return self._oms.get(client_order_id)
        self._emit(Topic.OMS, "CANCEL_SENT", client_order_id, {})
        self.__broker.cancel(self.__capability, client_order_id)
        return self._oms.get(client_order_id)

    # -- checks -----------------------------------------------------------------------------

    def _gate(
        self, intent: OrderIntent, context: PreTradeContext, arm_token: object
    ) -> SubmitResult | None:
        refusal = first_refusal(
            intent,
            context,
            arm_token,
            arm=self._arm,
            integrity=self._integrity,
            risk=self._risk,
            allocation=self._allocation,
        )
        if refusal is None:
            return None
        check, decision = refusal
        return self._refuse(intent, check, decision, context, context.ts_utc)

    def _intent_problem(self, intent: OrderIntent) -> Decision | None:
        if intent.engine_id != self._engine_id:
            return Decision(
                action=Action.REJECT,
                reason_code="ENGINE_MISMATCH",
                message=f"intent of engine {intent.engine_id} at the gateway of {self._engine_id}",
                evidence={"intent_engine": intent.engine_id, "gateway_engine": self._engine_id},
            )
        if intent.shadow:
            return Decision(
                action=Action.REJECT,
                reason_code="SHADOW_INTENT",
                message="shadow intents are recorded, never executed",
                evidence={"client_order_id": intent.client_order_id},
            )
        return None

    def _context(
        self,
        intent: OrderIntent,
        reference_price: Decimal | None,
        ts: datetime,
        *,
        exclude: str | None,
    ) -> PreTradeContext:
        position = self._positions.position(intent.symbol)
        pending = self._oms.pending_quantity(intent.symbol, intent.side, exclude=exclude)
        reducing = is_reducing(position, intent.side, intent.quantity, pending)
        return PreTradeContext(
            engine_id=self._engine_id,
            run_id=self._run_id,
            ts_utc=ts,
            symbol=intent.symbol,
            side=intent.side,
            quantity=intent.quantity,
            position=position,
            pending_same_side=pending,
            reducing=reducing,
            reference_price=reference_price,
        )

    def _refuse(
        self,
        intent: OrderIntent,
        check: GateCheck,
        upstream: Decision,
        context: PreTradeContext | None,
        ts: datetime,
    ) -> SubmitResult:
        decision, topic, payload = refusal_record(intent, check, upstream, context)
        self._emit(topic, "ORDER_REFUSED", intent.client_order_id, payload, ts=ts)
        return SubmitResult(
            accepted=False,
            decision=decision,
            check=check,
            reducing=context.reducing if context is not None else None,
        )

    # -- broker side ------------------------------------------------------------------------

    def _accepted(self, returned: Order, context: PreTradeContext) -> SubmitResult:
        if self._oms.get(returned.client_order_id).status is OrderStatus.NEW:
            self._apply_status(returned, reason=None)
        order = self._oms.get(returned.client_order_id)
        decision = Decision(
            action=Action.ALLOW,
            reason_code="ACCEPTED",
            evidence={"reducing": context.reducing, "position": context.position},
        )
        return SubmitResult(
            accepted=True, decision=decision, order=order, reducing=context.reducing
        )

    def _on_broker_update(self, update: BrokerUpdate) -> None:
        order = update.order
        if order.client_order_id not in self._oms:
            self._oms.register(order, protective=update.protective)
            payload = {
                "symbol": order.symbol,
                "side": order.side.value,
                "quantity": order.quantity,
                "order_type": order.order_type.value,
                "limit_price": order.limit_price,
                "stop_price": order.stop_price,
                "replaces": order.replaces,
                "protective": update.protective,
            }
            self._emit(Topic.BROKER, "ORDER_SUBMITTED", order.client_order_id, payload)
        fill = update.fill
        if fill is not None:
            applied = self._oms.apply_fill(fill)
            if applied is None:
                return
            payload = {
                "broker_fill_id": fill.broker_fill_id,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "fee": fill.fee,
                "filled_quantity": applied.filled_quantity,
            }
            self._emit(Topic.BROKER, f"ORDER_{applied.status.value}", fill.client_order_id, payload)
            if self._on_fill is not None:
                self._on_fill(fill)
            return
        self._apply_status(order, update.reason)

    def _apply_status(self, order: Order, reason: str | None) -> None:
        current = self._oms.get(order.client_order_id)
        if order.status is current.status:
            return
        check_transition(order.client_order_id, current.status, order.status)
        if order.status not in _BROKER_STATES:
            raise FillMismatchError(
                f"broker reported {order.client_order_id} {order.status.value} without a fill"
            )
        self._oms.transition(
            order.client_order_id,
            order.status,
            ts=order.updated_at,
            broker_order_id=order.broker_order_id,
        )
        self._emit(
            Topic.BROKER,
            f"ORDER_{order.status.value}",
            order.client_order_id,
            {"reason": reason, "broker_order_id": order.broker_order_id},
        )

    # -- helpers ----------------------------------------------------------------------------

    def _new_order(self, intent: OrderIntent, *, replaces: str | None) -> Order:
        now = self._clock()
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
            status=OrderStatus.NEW,
            replaces=replaces,
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _intent_payload(intent: OrderIntent) -> dict[str, Any]:
        return {
            "intent_seq": intent.intent_seq,
            "symbol": intent.symbol,
            "side": intent.side.value,
            "quantity": intent.quantity,
            "order_type": intent.order_type.value,
            "limit_price": intent.limit_price,
            "stop_price": intent.stop_price,
            "time_in_force": intent.time_in_force.value,
            "reduce_only": intent.reduce_only,
        }

    def _emit(
        self,
        topic: Topic,
        event_type: str,
        coid: str | None,
        payload: dict[str, Any],
        *,
        ts: datetime | None = None,
    ) -> None:
        if self._sink is not None:
            when = ts if ts is not None else self._clock()
            self._sink(ExecutionEvent(topic, event_type, when, coid, payload))
