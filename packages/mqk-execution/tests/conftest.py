"""Shared test harness: a simulated clock, exact position map, fake checks, gateway + SimBroker.

Helpers are handed out through fixtures (``--import-mode=importlib`` keeps test folders from
importing each other).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mqk_execution import (
    ArmAuthority,
    ArmToken,
    Bracket,
    ExecutionEvent,
    ExecutionGateway,
    ExecutionSettings,
    PreTradeContext,
    SimBroker,
    SubmitResult,
)
from mqk_schemas import (
    Action,
    Bar,
    Decision,
    Fill,
    OrderIntent,
    OrderType,
    Side,
    Timeframe,
    TimeInForce,
    client_order_id,
)

RUN = uuid.UUID("0b5e6a1c-1d2e-4f3a-8b4c-5d6e7f809a1b")
T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


class SimClock:
    """A settable clock: tests move it to each bar's close."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class ExactPositions:
    """The simplest exact ledger: signed quantity per symbol, fed by fills."""

    def __init__(self) -> None:
        self.quantities: dict[str, Decimal] = {}

    def position(self, symbol: str) -> Decimal:
        return self.quantities.get(symbol, Decimal(0))

    def apply(self, fill: Fill) -> None:
        self.quantities[fill.symbol] = self.position(fill.symbol) + fill.signed_quantity


@dataclass
class FakeCheck:
    """A risk / allocation / integrity stand-in returning a configurable decision."""

    name: str
    decision: Decision = field(default_factory=Decision.allow)
    calls: list[str] = field(default_factory=list)

    def set(self, action: Action, reason: str = "FAKE_BLOCK", **evidence: Any) -> None:
        self.decision = Decision(
            action=action, reason_code=reason, message=f"{self.name} says no", evidence=evidence
        )

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        self.calls.append(intent.client_order_id)
        return self.decision

    def integrity_decision(self, symbol: str) -> Decision:
        self.calls.append(symbol)
        return self.decision


def bar_at(index: int, o: str, h: str, low: str, c: str, symbol: str = "AAPL") -> Bar:
    """Daily bar number ``index`` (closing ``index`` days after T0)."""
    return Bar(
        symbol=symbol,
        timeframe=Timeframe.D1,
        ts_close_utc=T0 + timedelta(days=index),
        open=Decimal(o),
        high=Decimal(h),
        low=Decimal(low),
        close=Decimal(c),
        volume=Decimal(1000),
    )


class Harness:
    """Gateway + SimBroker + exact positions + fake checks, armed, at bar 0."""

    def __init__(self, settings: ExecutionSettings, starting_cash: Decimal = Decimal(100000)):
        self.clock = SimClock()
        self.positions = ExactPositions()
        self.events: list[ExecutionEvent] = []
        self.fills: list[Fill] = []
        self.integrity = FakeCheck("integrity")
        self.risk = FakeCheck("risk")
        self.allocation = FakeCheck("allocation")
        self.authority = ArmAuthority(RUN, "MAIN")
        self.broker = SimBroker(settings, clock=self.clock, starting_cash=starting_cash)
        self.gateway = ExecutionGateway(
            engine_id="MAIN",
            run_id=RUN,
            broker=self.broker,
            arm_verifier=self.authority.verifier,
            integrity=self.integrity,
            risk=self.risk,
            allocation=self.allocation,
            positions=self.positions,
            clock=self.clock,
            event_sink=self.events.append,
            on_fill=self._on_fill,
        )
        self.token: ArmToken = self.authority.arm()
        self.index = -1
        self.seq = 0

    def _on_fill(self, fill: Fill) -> None:
        self.positions.apply(fill)
        self.fills.append(fill)

    def bar(self, o: str, h: str, low: str, c: str, symbol: str = "AAPL") -> tuple[Fill, ...]:
        """Advance to the next bar and let the broker process it."""
        self.index += 1
        bar = bar_at(self.index, o, h, low, c, symbol)
        self.clock.now = bar.ts_close_utc
        return self.broker.on_bar(bar)

    def flat_bar(self, price: str, symbol: str = "AAPL") -> tuple[Fill, ...]:
        """A bar that opens, trades and closes at one price."""
        return self.bar(price, price, price, price, symbol)

    def intent(
        self,
        side: Side,
        quantity: str,
        order_type: OrderType = OrderType.MARKET,
        *,
        limit: str | None = None,
        stop: str | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        symbol: str = "AAPL",
        shadow: bool = False,
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
            limit_price=Decimal(limit) if limit is not None else None,
            stop_price=Decimal(stop) if stop is not None else None,
            time_in_force=tif,
            shadow=shadow,
        )

    def submit(
        self,
        side: Side,
        quantity: str,
        order_type: OrderType = OrderType.MARKET,
        *,
        bracket: Bracket | None = None,
        **kwargs: Any,
    ) -> SubmitResult:
        intent = self.intent(side, quantity, order_type, **kwargs)
        return self.gateway.submit(intent, arm_token=self.token, bracket=bracket)

    @staticmethod
    def day_of(fill: Fill) -> int:
        """The index of the bar a fill happened on."""
        return (fill.ts_utc - T0).days

    def fill_log(self) -> tuple[tuple[int, str, str], ...]:
        """(bar index, quantity, price) of every fill so far."""
        return tuple((self.day_of(f), str(f.quantity), str(f.price)) for f in self.fills)

    def event_types(self) -> list[str]:
        return [e.event_type for e in self.events]


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    """Build a harness from ExecutionSettings keyword arguments (strings become Decimals)."""

    def build(**settings: Any) -> Harness:
        return Harness(ExecutionSettings.model_validate(settings))

    return build


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    """A cost-free harness with default settings, armed, before its first bar."""
    return make_harness()


@pytest.fixture
def bar_factory() -> Callable[..., Bar]:
    """``bar_at`` as a fixture."""
    return bar_at
