"""OrderDesk: strategy targets -> order intents -> the execution gateway.

One implementation for the backtester and the paper/live runtime, so that a paper run over the
same bars makes the same orders and gets the same fills as the backtest of the same config:

- a risk-increasing target the gateway refused for a symbol is not retried while the strategy
  keeps asking for that same quantity (a changed target, or an accepted order, clears the
  memo); a refused exit (reduce-only) is retried on every cycle;
- an accepted reduce-only intent then cancels the symbol's protective (bracket) orders; a
  refused one leaves them resting, so a position is never left without its stop;
- an opening intent of a symbol the strategy gave a stop for carries a bracket (stop and
  optional take-profit);
- a stop given for a symbol without a new intent tightens its resting protective stop (never
  loosens it).

In shadow mode nothing reaches the gateway: each change of target is recorded as a SHADOW
intent against a shadow book.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from mqk_execution._broker import Bracket
from mqk_execution._events import SubmitResult
from mqk_execution._gateway import ExecutionGateway
from mqk_execution._intents import targets_to_intents
from mqk_execution._protocols import PositionView
from mqk_execution.errors import IntentError
from mqk_schemas import (
    OrderIntent,
    OrderType,
    Side,
    TargetPosition,
    Topic,
    client_order_id,
    format_decimal,
)

__all__ = ["AuditFn", "OrderDesk", "RefusalFn", "Stops"]

Stops = Mapping[str, tuple[Decimal, Decimal | None]]
"""Per symbol: the protective stop price and optional take-profit the strategy asked for."""

AuditFn = Callable[[Topic, str, dict[str, Any]], None]
"""Records something the desk did (topic, event type, payload) in the run's event stream."""

RefusalFn = Callable[[OrderIntent, SubmitResult], None]
"""Told about every intent the gateway refused, with the gateway's answer."""

_ZERO = Decimal(0)


class OrderDesk:
    """Turns targets into gateway calls for one run (see the module docstring)."""

    def __init__(
        self,
        *,
        gateway: ExecutionGateway,
        ledger: PositionView,
        engine_id: str,
        run_id: uuid.UUID,
        next_seq: int,
        prices: Mapping[str, Decimal],
        audit: AuditFn,
        refused: Mapping[str, Decimal] | None = None,
        on_refusal: RefusalFn | None = None,
    ) -> None:
        self._gateway = gateway
        self._ledger = ledger
        self._engine_id = engine_id
        self._run_id = run_id
        self._next_seq = next_seq
        self._prices = prices
        self._audit = audit
        self._refused: dict[str, Decimal] = dict(refused or {})
        self._on_refusal = on_refusal
        self._shadow_book: dict[str, Decimal] = {}
        self.token: object = None
        self.shadow_intents = 0

    @property
    def next_seq(self) -> int:
        """The sequence number the next intent takes (persisted with each cycle)."""
        return self._next_seq

    @property
    def refused(self) -> dict[str, Decimal]:
        """Per symbol, the target quantity last refused (persisted with each cycle)."""
        return dict(self._refused)

    def act(self, targets: tuple[TargetPosition, ...], stops: Stops) -> None:
        """Send the orders that move the positions to ``targets``."""
        for target in targets:
            if self._refused.get(target.symbol, target.quantity) != target.quantity:
                del self._refused[target.symbol]  # the strategy changed its mind
        targets = tuple(
            t for t in targets if t.quantity is None or self._refused.get(t.symbol) != t.quantity
        )
        if not targets:
            return
        prices = {t.symbol: self._prices[t.symbol] for t in targets if t.symbol in self._prices}
        try:
            plan = targets_to_intents(
                targets,
                self._ledger,
                engine_id=self._engine_id,
                run_id=self._run_id,
                next_seq=self._next_seq,
                prices=prices,
                pending={t.symbol: self._gateway.pending_quantity(t.symbol) for t in targets},
            )
        except IntentError as exc:
            self._audit(Topic.STRATEGY, "TARGETS_REFUSED", {"reason": str(exc)})
            return
        self._next_seq = plan.next_seq
        for intent in plan.intents:
            levels = stops.get(intent.symbol)
            bracket = (
                Bracket(stop_price=levels[0], target_price=levels[1])
                if levels is not None and not intent.reduce_only
                else None
            )
            result = self._gateway.submit(
                intent,
                arm_token=self.token,
                reference_price=prices.get(intent.symbol),
                bracket=bracket,
            )
            if not result.accepted:
                # A refused exit is retried on every cycle; a refused entry waits for new targets.
                wanted = next(t.quantity for t in targets if t.symbol == intent.symbol)
                if wanted is not None and not intent.reduce_only:
                    self._refused[intent.symbol] = wanted
                if self._on_refusal is not None:
                    self._on_refusal(intent, result)
            else:
                self._refused.pop(intent.symbol, None)
                if intent.reduce_only:
                    # only once the exit is accepted: a refused exit keeps its stop resting
                    self.cancel_protection(intent.symbol)
        touched = {intent.symbol for intent in plan.intents}
        for symbol, (stop_price, _) in sorted(stops.items()):
            if symbol not in touched:
                self._tighten(symbol, stop_price)

    def cancel_protection(self, symbol: str) -> None:
        """Cancel the symbol's open protective (bracket exit) orders."""
        for order in self._gateway.open_orders(symbol):
            if self._gateway.is_protective(order.client_order_id):
                self._gateway.cancel(order.client_order_id)

    def shadow(self, targets: tuple[TargetPosition, ...]) -> None:
        """Record each change of target as a SHADOW intent (nothing is sent)."""
        for target in sorted(targets, key=lambda t: t.symbol):
            wanted = target.quantity if target.quantity is not None else _ZERO
            held = self._shadow_book.get(target.symbol, _ZERO)
            if wanted == held:
                continue
            delta = wanted - held
            self._shadow_book[target.symbol] = wanted
            seq = self._next_seq
            self._next_seq += 1
            intent = OrderIntent(
                engine_id=self._engine_id,
                intent_seq=seq,
                client_order_id=client_order_id(self._engine_id, self._run_id, seq),
                symbol=target.symbol,
                side=Side.BUY if delta > 0 else Side.SELL,
                quantity=abs(delta),
                shadow=True,
            )
            self.shadow_intents += 1
            self._audit(
                Topic.STRATEGY,
                "SHADOW_INTENT",
                {"intent": intent.model_dump(mode="json"), "target": format_decimal(wanted)},
            )

    def resubmit(self, intent: OrderIntent, bracket: Bracket | None, replaces: str | None) -> bool:
        """Send an order again with its original client_order_id (restart recovery)."""
        price = self._prices.get(intent.symbol)
        if replaces is None:
            result = self._gateway.submit(
                intent, arm_token=self.token, reference_price=price, bracket=bracket
            )
            return result.accepted
        old = self._gateway.order(replaces)
        if old.status.is_terminal:
            return False
        result = self._gateway.replace(
            replaces,
            intent_seq=intent.intent_seq,
            arm_token=self.token,
            quantity=intent.quantity,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
            reference_price=price,
        )
        return result.accepted

    def _tighten(self, symbol: str, stop_price: Decimal) -> None:
        for order in self._gateway.open_orders(symbol):
            if (
                not self._gateway.is_protective(order.client_order_id)
                or order.order_type is not OrderType.STOP
                or order.stop_price is None
                or (stop_price - order.stop_price) * order.side.sign >= 0
            ):
                continue
            self._gateway.tighten_stop(
                order.client_order_id,
                stop_price,
                intent_seq=self._next_seq,
                arm_token=self.token,
                reference_price=self._prices.get(symbol),
            )
            self._next_seq += 1
