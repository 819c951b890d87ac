"""The gateway and SimBroker wired to the real ledger (mqk_portfolio.EngineLedger), risk engine
(mqk_risk.RiskEngine) and allocation guard (mqk_isolation.AllocationGuard)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from mqk_execution import (
    NOT_ARMED,
    AllocationGuardCheck,
    ArmAuthority,
    Bracket,
    ExecutionEvent,
    ExecutionGateway,
    ExecutionSettings,
    GateCheck,
    RiskEngineCheck,
    SimBroker,
    SubmitResult,
    targets_to_intents,
)
from mqk_isolation import AllocationGuard
from mqk_portfolio import EngineLedger, LedgerView
from mqk_risk import RiskEngine, load_risk_limits
from mqk_schemas import (
    Bar,
    Decision,
    Fill,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
    TargetPosition,
    Timeframe,
    client_order_id,
)

RUN = uuid.UUID("7e7e7e7e-1111-4222-8333-444444444444")
T0 = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
D = Decimal

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
    "pdt": {"mode": "off", "equity_threshold": "25000", "max_day_trades": 3, "window_sessions": 5},
    "stale_data_seconds": 864000,
    "require_protective_stop": False,
    "desync_action": "HALT_NEW",
}


class AlwaysClean:
    """Integrity view for these scenarios: the data is clean."""

    def integrity_decision(self, symbol: str) -> Decision:
        return Decision.allow()


def _session_of(ts: datetime) -> date:
    return ts.date()


class Desk:
    """One engine's execution stack, built from the real packages."""

    def __init__(self, settings: ExecutionSettings) -> None:
        self.now = T0
        self.ledger = EngineLedger("MAIN", D(100_000))
        view = LedgerView(self.ledger)
        self.risk = RiskEngine(
            load_risk_limits(RISK),
            engine_id="MAIN",
            session_of=_session_of,
            initial_equity=D(100_000),
        )
        self.authority = ArmAuthority(RUN, "MAIN")
        self.broker = SimBroker(settings, clock=self.clock, starting_cash=D(100_000))
        self.events: list[ExecutionEvent] = []
        self.gateway = ExecutionGateway(
            engine_id="MAIN",
            run_id=RUN,
            broker=self.broker,
            arm_verifier=self.authority.verifier,
            integrity=AlwaysClean(),
            risk=RiskEngineCheck(self.risk, view),
            allocation=AllocationGuardCheck(
                AllocationGuard({"MAIN": D("0.5")}, market_buffer=D("0.01")),
                view,
                lambda: self.ledger.equity,
            ),
            positions=view,
            clock=self.clock,
            event_sink=self.events.append,
            on_fill=self.on_fill,
        )
        self.token = self.authority.arm()
        self.seq = 0
        self.day = 0
        self.last = D(100)

    def clock(self) -> datetime:
        return self.now

    def on_fill(self, fill: Fill) -> None:
        before = self.ledger.position(fill.symbol)
        self.ledger.apply(fill)
        self.risk.on_fill(fill, position_before=before)

    def bar(self, o: str, h: str, low: str, c: str) -> None:
        self.day += 1
        self.now = T0 + timedelta(days=self.day)
        bar = Bar(
            symbol="AAPL",
            timeframe=Timeframe.D1,
            ts_close_utc=self.now,
            open=D(o),
            high=D(h),
            low=D(low),
            close=D(c),
            volume=D(1000),
        )
        self.broker.on_bar(bar)
        self.ledger.mark("AAPL", bar.close)
        self.risk.on_mark(self.now, self.ledger.equity)
        self.last = bar.close

    def submit(
        self, side: Side, quantity: str, bracket: Bracket | None = None, **kw: object
    ) -> SubmitResult:
        seq = self.seq
        self.seq += 1
        intent = OrderIntent(
            engine_id="MAIN",
            intent_seq=seq,
            client_order_id=client_order_id("MAIN", RUN, seq),
            symbol="AAPL",
            side=side,
            quantity=D(quantity),
            **kw,  # type: ignore[arg-type]
        )
        return self.gateway.submit(
            intent, arm_token=self.token, reference_price=self.last, bracket=bracket
        )

    def assert_books_agree(self) -> None:
        """Ledger and broker agree on positions, cash and (marked) equity, exactly."""
        snapshot = self.broker.snapshot()
        assert {p.symbol: p.quantity for p in snapshot.positions} == {
            s: q for s, q in self.ledger.positions().items() if q
        }
        assert snapshot.account.cash == self.ledger.cash
        assert snapshot.account.equity == self.ledger.equity
        assert tuple(f for f in snapshot.fills) == self.gateway.fills()


COSTS = ExecutionSettings.model_validate(
    {
        "spread_bps": "4",
        "slippage_bps": "2",
        "slippage_volatility_multiplier": "0.1",
        "slippage_cap_bps": "10",
        "commission_per_share": "0.005",
        "commission_minimum": "1",
    }
)


def scenario_real_stack_orders_checks_and_halt_flatten() -> None:
    desk = Desk(COSTS)
    desk.bar("100", "100", "100", "100")
    first = desk.submit(Side.BUY, "400")
    assert first.accepted
    desk.bar("100", "101", "99", "100.5")
    assert desk.ledger.position("AAPL") == D(400)
    desk.assert_books_agree()

    # over the risk engine's max position quantity AND the engine cap: RISK comes first
    both = desk.submit(Side.BUY, "150")
    assert (both.check, both.decision.reason_code) == (
        GateCheck.RISK,
        "KILL_SWITCH_MAX_POSITION_QUANTITY",
    )
    # within the quantity limit but over the 50% cap at the worst-case price
    cap = desk.submit(Side.BUY, "99")  # 40,200 held + 99 * 101.505 > 0.5 * equity
    assert (cap.check, cap.decision.reason_code) == (GateCheck.ALLOCATION, "ENGINE_CAP_EXCEEDED")
    assert cap.decision.evidence["upstream_evidence"]

    desk.risk.halt(desk.now, reason="operator test", operator="alice")
    more = desk.submit(Side.BUY, "1")
    assert (more.accepted, more.check) == (False, GateCheck.RISK)
    plan = targets_to_intents(
        [TargetPosition(symbol="AAPL", quantity=D(0))],
        LedgerView(desk.ledger),
        engine_id="MAIN",
        run_id=RUN,
        next_seq=desk.seq,
        pending={"AAPL": desk.gateway.pending_quantity("AAPL")},
    )
    (flatten,) = plan.intents
    result = desk.gateway.submit(flatten, arm_token=desk.token, reference_price=desk.last)
    assert (result.accepted, result.reducing) == (True, True)
    desk.bar("99", "99.5", "98", "99")
    assert desk.ledger.position("AAPL") == 0
    desk.assert_books_agree()
    assert desk.ledger.fees == sum((f.fee for f in desk.gateway.fills()), D(0))
    refused = [e for e in desk.events if e.event_type == "ORDER_REFUSED"]
    assert [e.payload["reason_code"] for e in refused] == [
        "KILL_SWITCH_MAX_POSITION_QUANTITY",
        "ENGINE_CAP_EXCEEDED",
        more.decision.reason_code,
    ]


def scenario_real_stack_bracket_stop_and_disarm() -> None:
    desk = Desk(COSTS)
    desk.bar("100", "100", "100", "100")
    entry = desk.submit(Side.BUY, "100", Bracket(D(95), D(110), trail_amount=D(3)))
    assert entry.accepted
    desk.bar("100", "101", "99", "100")
    desk.bar("101", "104", "100.5", "104")  # trail moves the stop to 101
    stop = next(o for o in desk.gateway.open_orders() if o.order_type is OrderType.STOP)
    assert stop.stop_price == D(101)
    desk.authority.disarm()
    refused = desk.submit(Side.BUY, "1")
    assert refused.decision.reason_code == NOT_ARMED
    desk.bar("102", "102", "100", "100.2")  # the protective stop still works while disarmed
    assert desk.ledger.position("AAPL") == 0
    assert desk.gateway.order(stop.client_order_id).status is OrderStatus.FILLED
    desk.assert_books_agree()
    # entry: 100 * (1 + 12bps) = 100.12; stop: 101 * (1 - 12bps) = 100.8788 -> 100.87
    # (12bps = 2 half spread + slippage 2 + 0.1 * ~200bps range, capped at 10)
    assert [f.price for f in desk.gateway.fills()] == [D("100.12"), D("100.87")]
    assert desk.ledger.realised_pnl == D("75.00")
    assert desk.ledger.fees == D("2.00")  # the 1.00 minimum, twice


@pytest.mark.parametrize("seed", [3, 17])
def invariant_real_ledger_equals_broker_after_random_partial_fills(seed: int) -> None:
    settings = COSTS.model_copy(
        update={
            "partial_fills": COSTS.partial_fills.model_copy(
                update={"enabled": True, "probability": D("0.6"), "fill_fraction_min": D("0.2")}
            ),
            "seed": seed,
        }
    )
    desk = Desk(settings)
    desk.bar("100", "100", "100", "100")
    for step in range(12):
        desk.submit(Side.BUY if step % 3 else Side.SELL, str(10 + step))
        desk.bar("100", "101", "99", str(100 + step % 2))
        desk.assert_books_agree()
    fills = desk.gateway.fills()
    assert any(f.quantity != desk.gateway.order(f.client_order_id).quantity for f in fills)
    assert desk.ledger.fills == fills
