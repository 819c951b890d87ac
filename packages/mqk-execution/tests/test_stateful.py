"""Hypothesis state machine: random intents, brackets, bars, cancels, replaces and halts through
gateway + SimBroker + the real fill-driven ledger (mqk_portfolio.EngineLedger), with the
invariants checked after every step:

* every position (ledger and broker) equals the signed sum of the fills, and the ledger's
  cash equals the broker's to the cent;
* no order is ever filled beyond its quantity (OMS and broker agree on what was filled);
* no risk-increasing order passes while halted, and an order accepted during a halt never
  moves a position away from zero when it fills.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mqk_execution import (
    ArmAuthority,
    Bracket,
    ExecutionGateway,
    ExecutionSettings,
    PreTradeContext,
    SimBroker,
    targets_to_intents,
)
from mqk_portfolio import EngineLedger
from mqk_schemas import (
    Action,
    Bar,
    Decision,
    Fill,
    OrderIntent,
    OrderType,
    Side,
    TargetPosition,
    Timeframe,
    client_order_id,
)

RUN = uuid.UUID("3c3c3c3c-0000-4000-8000-000000000001")
T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
SYMBOLS = ("AAPL", "MSFT")
CENT = Decimal("0.01")
ZERO = Decimal(0)


class Switch:
    """A fake integrity view / risk check whose decision the machine flips."""

    def __init__(self) -> None:
        self.decision = Decision.allow()

    def integrity_decision(self, symbol: str) -> Decision:
        return self.decision

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        return self.decision


MOVES = st.lists(
    st.tuples(
        st.integers(-500, 500),
        st.integers(-500, 500),
        st.integers(0, 300),
        st.integers(0, 300),
    ),
    max_size=3,
)
"""Bars to run after an action: (open move, close move, up, down) in cents, per bar."""


def _prices(cents: int) -> Decimal:
    return (Decimal(max(cents, 100)) * CENT).quantize(CENT)


class GatewayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.ledger = EngineLedger("MAIN", Decimal(1_000_000))
        self.integrity = Switch()
        self.risk = Switch()
        self.allocation = Switch()
        self.authority = ArmAuthority(RUN, "MAIN")
        self.broker = SimBroker(
            ExecutionSettings.model_validate(
                {
                    "spread_bps": "4",
                    "slippage_bps": "2",
                    "slippage_volatility_multiplier": "0.05",
                    "slippage_cap_bps": "15",
                    "commission_per_share": "0.005",
                    "commission_minimum": "1",
                    "latency_bars": {"submit": 0, "cancel": 1, "replace": 1},
                    "partial_fills": {
                        "enabled": True,
                        "fill_fraction_min": "0.2",
                        "probability": "0.4",
                    },
                    "seed": 1234,
                }
            ),
            clock=lambda: self.now,
            starting_cash=Decimal(1_000_000),
        )
        self.gateway = ExecutionGateway(
            engine_id="MAIN",
            run_id=RUN,
            broker=self.broker,
            arm_verifier=self.authority.verifier,
            integrity=self.integrity,
            risk=self.risk,
            allocation=self.allocation,
            positions=self.ledger,
            clock=lambda: self.now,
            on_fill=self._on_fill,
        )
        self.token = self.authority.arm()
        self.seq = 0
        self.close = {s: Decimal(100) for s in SYMBOLS}
        self.halted_orders: set[str] = set()
        self.fills_seen = 0

    # -- helpers ----------------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        return not (self.integrity.decision.allowed and self.risk.decision.allowed)

    def _on_fill(self, fill: Fill) -> None:
        before = self.ledger.position(fill.symbol)
        if fill.client_order_id in self.halted_orders:
            # an order accepted during a halt may only take a position towards zero
            assert before * fill.signed_quantity < 0, (fill, before)
            assert fill.quantity <= abs(before), (fill, before)
        self.ledger.apply(fill)
        self.fills_seen += 1

    def _independent_reducing(self, symbol: str, side: Side, quantity: Decimal) -> bool:
        position = self.ledger.position(symbol)
        pending = sum(
            (
                o.remaining_quantity
                for o in self.gateway.open_orders(symbol)
                if o.side is side and not self.gateway.is_protective(o.client_order_id)
            ),
            ZERO,
        )
        return position * side.sign < 0 and pending + quantity <= abs(position)

    def _submit(self, intent: OrderIntent, bracket: Bracket | None = None) -> None:
        halted = self.halted
        reducing = self._independent_reducing(intent.symbol, intent.side, intent.quantity)
        result = self.gateway.submit(
            intent,
            arm_token=self.token,
            reference_price=self.close[intent.symbol],
            bracket=bracket,
        )
        if halted:
            assert result.accepted is reducing, (intent, result)
            if result.accepted:
                self.halted_orders.add(intent.client_order_id)
        else:
            assert result.accepted, result

    def _intent(
        self,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
    ) -> OrderIntent:
        seq = self.seq
        self.seq += 1
        return OrderIntent(
            engine_id="MAIN",
            intent_seq=seq,
            client_order_id=client_order_id("MAIN", RUN, seq),
            symbol=symbol,
            side=side,
            quantity=Decimal(quantity),
            order_type=order_type,
            limit_price=price if order_type is OrderType.LIMIT else None,
            stop_price=price if order_type is OrderType.STOP else None,
        )

    # -- rules ------------------------------------------------------------------------------

    @rule(
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from(Side),
        quantity=st.integers(1, 40),
        order_type=st.sampled_from(OrderType),
        offset=st.integers(-400, 400),
        then=MOVES,
    )
    def submit(
        self,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderType,
        offset: int,
        then: list[tuple[int, int, int, int]],
    ) -> None:
        price = None
        if order_type is not OrderType.MARKET:
            price = _prices(int(self.close[symbol] / CENT) + offset)
        self._submit(self._intent(symbol, side, quantity, order_type, price))
        self.bars(then)

    @rule(
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from(Side),
        quantity=st.integers(1, 40),
        stop_cents=st.integers(50, 600),
        target_cents=st.one_of(st.none(), st.integers(50, 900)),
        trail=st.booleans(),
        then=MOVES,
    )
    def submit_bracket(
        self,
        symbol: str,
        side: Side,
        quantity: int,
        stop_cents: int,
        target_cents: int | None,
        trail: bool,
        then: list[tuple[int, int, int, int]],
    ) -> None:
        close = self.close[symbol]
        stop = close - side.sign * stop_cents * CENT
        target = None if target_cents is None else close + side.sign * target_cents * CENT
        if stop <= 0 or (target is not None and target <= 0):
            return
        bracket = Bracket(stop, target, Decimal(2) if trail else None)
        self._submit(self._intent(symbol, side, quantity), bracket)
        self.bars(then)

    @rule(symbol=st.sampled_from(SYMBOLS), then=MOVES)
    def flatten(self, symbol: str, then: list[tuple[int, int, int, int]]) -> None:
        plan = targets_to_intents(
            [TargetPosition(symbol=symbol, quantity=ZERO)],
            self.ledger,
            engine_id="MAIN",
            run_id=RUN,
            next_seq=self.seq,
            pending={symbol: self.gateway.pending_quantity(symbol)},
        )
        self.seq = plan.next_seq
        for intent in plan.intents:
            self._submit(intent)
        self.bars(then)

    @rule(moves=MOVES)
    def bars(self, moves: list[tuple[int, int, int, int]]) -> None:
        """Advance time: one bar per symbol per move."""
        for open_move, close_move, up, down in moves:
            self.now += timedelta(days=1)
            for symbol in SYMBOLS:
                self._bar(symbol, open_move, close_move, up, down)

    def _bar(self, symbol: str, open_move: int, close_move: int, up: int, down: int) -> None:
        base = int(self.close[symbol] / CENT)
        o = _prices(base + open_move)
        c = _prices(base + close_move)
        bar = Bar(
            symbol=symbol,
            timeframe=Timeframe.D1,
            ts_close_utc=self.now,
            open=o,
            high=max(o, c) + up * CENT,
            low=max(min(o, c) - down * CENT, CENT),
            close=c,
            volume=Decimal(1000),
        )
        self.broker.on_bar(bar)
        self.close[symbol] = c

    @precondition(lambda self: bool(self.gateway.open_orders()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.gateway.open_orders()))
        self.gateway.cancel(order.client_order_id)

    @precondition(lambda self: bool(self.gateway.open_orders()))
    @rule(data=st.data(), quantity=st.integers(1, 40), offset=st.integers(-300, 300))
    def replace(self, data: st.DataObject, quantity: int, offset: int) -> None:
        order = data.draw(st.sampled_from(self.gateway.open_orders()))
        halted = self.halted
        reducing = self._independent_reducing_replace(order.client_order_id, quantity)
        price = _prices(int(self.close[order.symbol] / CENT) + offset)
        seq = self.seq
        self.seq += 1
        result = self.gateway.replace(
            order.client_order_id,
            intent_seq=seq,
            arm_token=self.token,
            quantity=Decimal(quantity),
            limit_price=price,
            stop_price=price,
            reference_price=self.close[order.symbol],
        )
        if halted and result.accepted:
            assert reducing
            assert result.order is not None
            self.halted_orders.add(result.order.client_order_id)
        if halted and not reducing:
            assert not result.accepted

    def _independent_reducing_replace(self, coid: str, quantity: int) -> bool:
        old = self.gateway.order(coid)
        position = self.ledger.position(old.symbol)
        pending = sum(
            (
                o.remaining_quantity
                for o in self.gateway.open_orders(old.symbol)
                if o.side is old.side
                and o.client_order_id != coid
                and not self.gateway.is_protective(o.client_order_id)
            ),
            ZERO,
        )
        return position * old.side.sign < 0 and pending + quantity <= abs(position)

    @rule(
        where=st.sampled_from(["integrity", "risk"]),
        action=st.sampled_from([Action.ALLOW, Action.HALT_NEW, Action.FLATTEN_AND_HALT]),
    )
    def set_halt(self, where: str, action: Action) -> None:
        switch: Switch = getattr(self, where)
        switch.decision = (
            Decision.allow()
            if action is Action.ALLOW
            else Decision(action=action, reason_code="KILL_SWITCH_MANUAL")
        )

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def positions_equal_the_sum_of_fills(self) -> None:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for fill in self.gateway.fills():
            totals[fill.symbol] += fill.signed_quantity
        assert len(self.gateway.fills()) == self.fills_seen
        for symbol in SYMBOLS:
            assert self.ledger.position(symbol) == totals[symbol]
            assert self.broker.position(symbol) == totals[symbol]
        assert self.ledger.cash == self.broker.snapshot().account.cash

    @invariant()
    def no_order_is_filled_beyond_its_quantity(self) -> None:
        filled: dict[str, Decimal] = defaultdict(Decimal)
        for fill in self.gateway.fills():
            filled[fill.client_order_id] += fill.quantity
        oms = {o.client_order_id: o for o in self.gateway.orders()}
        for order in self.broker.snapshot().orders:
            assert order.filled_quantity <= order.quantity
            mine = oms[order.client_order_id]
            assert mine.filled_quantity == order.filled_quantity == filled[order.client_order_id]
            assert mine.status is order.status


def invariant_gateway_simbroker_ledger_hold_under_random_operation() -> None:
    run_state_machine_as_test(
        GatewayMachine,
        settings=settings(
            max_examples=150,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
