"""Pattern-day-trader protection: the order completing a 4th day trade within 5 sessions is
refused below the equity threshold in ``auto`` mode."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqk_risk import KillSwitch, RiskEngine
from mqk_schemas import Action, Decision

D = Decimal
DAY = timedelta(days=1)


def _day_trade(
    engine: RiskEngine, kit: Any, portfolio: Any, ts: datetime, symbol: str = "AAPL"
) -> Decision:
    """Open 10 shares at ``ts`` and try to close them a minute later (fills applied if allowed)."""
    engine.on_mark(ts, portfolio.equity)
    before = portfolio.position(symbol)
    engine.on_fill(kit.fill("BUY", 10, ts, symbol), position_before=before)
    portfolio.set(symbol, before + 10)
    decision = engine.check(kit.intent("SELL", 10, symbol), kit.ctx(portfolio, ts + kit.minutes(1)))
    if decision.allowed:
        trade = engine.on_fill(
            kit.fill("SELL", 10, ts + kit.minutes(2), symbol), position_before=before + 10
        )
        assert trade is not None
        assert trade.symbol == symbol
        portfolio.set(symbol, before)
    return decision


def _engine(kit: Any, equity: str, **changes: Any) -> tuple[RiskEngine, Any]:
    engine = kit.engine(initial_equity=D(equity), **changes)
    return engine, kit.FakePortfolio(D(equity))


def scenario_fourth_day_trade_in_five_sessions_is_prevented_under_threshold(kit: Any) -> None:
    engine, portfolio = _engine(kit, "20000")
    for day in range(3):
        assert _day_trade(engine, kit, portfolio, kit.T0 + day * DAY).allowed
    fourth = _day_trade(engine, kit, portfolio, kit.T0 + 3 * DAY)
    assert (fourth.action, fourth.reason_code) == (Action.REJECT, "KILL_SWITCH_PDT")
    assert fourth.evidence["day_trades_in_window"] == 3
    assert fourth.evidence["max_day_trades"] == 3
    assert fourth.evidence["equity"] == D("20000")
    assert fourth.evidence["equity_threshold"] == D("25000")
    assert fourth.evidence["opened_at"] == kit.T0 + 3 * DAY
    assert [t["symbol"] for t in fourth.evidence["day_trades"]] == ["AAPL"] * 3
    # the engine is not halted: opening orders and closing older positions still pass
    assert not engine.is_tripped(KillSwitch.PDT)
    when = kit.ctx(portfolio, kit.T0 + 3 * DAY + kit.minutes(5))
    assert engine.check(kit.intent("BUY", 5, "MSFT"), when).allowed


def scenario_three_day_trades_are_allowed_under_threshold(kit: Any) -> None:
    engine, portfolio = _engine(kit, "20000")
    decisions = [_day_trade(engine, kit, portfolio, kit.T0 + m * kit.minutes(10)) for m in range(3)]
    assert all(d.allowed for d in decisions)
    assert not _day_trade(engine, kit, portfolio, kit.T0 + kit.minutes(40)).allowed


@pytest.mark.parametrize("equity", ["25000", "30000"])
def scenario_fourth_day_trade_allowed_at_or_above_threshold(kit: Any, equity: str) -> None:
    engine, portfolio = _engine(kit, equity)
    decisions = [_day_trade(engine, kit, portfolio, kit.T0 + day * DAY) for day in range(6)]
    assert all(d.allowed for d in decisions)


def scenario_fourth_day_trade_allowed_with_mode_off(kit: Any) -> None:
    engine, portfolio = _engine(kit, "20000", pdt={"mode": "off"})
    decisions = [_day_trade(engine, kit, portfolio, kit.T0 + day * DAY) for day in range(6)]
    assert all(d.allowed for d in decisions)


def scenario_day_trade_window_rolls_off_after_five_sessions(kit: Any) -> None:
    engine, portfolio = _engine(kit, "20000")
    for minute in range(3):  # three day trades in session 1
        assert _day_trade(engine, kit, portfolio, kit.T0 + kit.minutes(10 * minute)).allowed
    for day in range(1, 4):  # sessions 2..4 observed, no trading
        engine.on_mark(kit.T0 + day * DAY, portfolio.equity)
    assert not _day_trade(engine, kit, portfolio, kit.T0 + 4 * DAY).allowed  # session 5
    portfolio.set("AAPL", D(0))
    # session 6: session 1 left the 5-session window
    assert _day_trade(engine, kit, portfolio, kit.T0 + 5 * DAY).allowed


def unit_day_trade_is_counted_once_per_round_trip(kit: Any) -> None:
    engine = kit.engine()
    t = kit.T0
    assert engine.on_fill(kit.fill("BUY", 100, t), position_before=D(0)) is None
    assert engine.on_fill(kit.fill("SELL", 50, t), position_before=D(100)) is not None
    assert engine.on_fill(kit.fill("SELL", 50, t), position_before=D(50)) is None
    assert engine.on_fill(kit.fill("BUY", 10, t), position_before=D(0)) is None
    assert engine.on_fill(kit.fill("BUY", 10, t), position_before=D(10)) is None
    assert engine.on_fill(kit.fill("SELL", 20, t), position_before=D(20)) is not None
    assert len(engine.snapshot().day_trades) == 2


def unit_closing_a_position_opened_in_an_earlier_session_is_not_a_day_trade(kit: Any) -> None:
    engine = kit.engine()
    engine.on_fill(kit.fill("BUY", 10, kit.T0), position_before=D(0))
    assert engine.on_fill(kit.fill("SELL", 10, kit.T0 + DAY), position_before=D(10)) is None


def unit_a_crossing_fill_completes_a_day_trade_and_opens_the_other_side(kit: Any) -> None:
    engine = kit.engine(allow_short=True)
    t = kit.T0
    engine.on_fill(kit.fill("BUY", 10, t), position_before=D(0))
    assert engine.on_fill(kit.fill("SELL", 20, t), position_before=D(10)) is not None
    assert engine.on_fill(kit.fill("BUY", 10, t), position_before=D(-10)) is not None


def invariant_pdt_refuses_even_a_reducing_order_while_halted(kit: Any) -> None:
    engine, portfolio = _engine(kit, "20000")
    for day in range(3):
        _day_trade(engine, kit, portfolio, kit.T0 + day * DAY)
    ts = kit.T0 + 3 * DAY
    engine.on_fill(kit.fill("BUY", 10, ts), position_before=D(0))
    portfolio.set("AAPL", D(10))
    engine.halt(ts, reason="r", operator="o")
    refused = engine.check(kit.intent("SELL", 10), kit.ctx(portfolio, ts))
    assert refused.reason_code == "KILL_SWITCH_PDT"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.booleans()), min_size=1, max_size=40
    )
)
def invariant_pdt_matches_a_reference_count_over_the_last_five_sessions(
    kit: Any, steps: list[tuple[int, bool]]
) -> None:
    """Each step may start new sessions, opens a fresh symbol, and tries to close it."""
    engine, portfolio = _engine(kit, "20000")
    sessions: list[int] = []
    trades: list[int] = []
    day = 0
    for index, (advance, close) in enumerate(steps):
        day += advance
        ts = kit.T0 + day * DAY + index * kit.minutes(1)
        engine.on_mark(ts, portfolio.equity)
        if not sessions or sessions[-1] != day:
            sessions.append(day)
        symbol = f"S{index}"
        engine.on_fill(kit.fill("BUY", 10, ts, symbol), position_before=D(0))
        portfolio.set(symbol, D(10))
        window_start = sessions[-5:][0]
        expected = sum(1 for t in trades if t >= window_start) < 3
        decision = engine.check(kit.intent("SELL", 10, symbol), kit.ctx(portfolio, ts))
        assert decision.allowed is expected
        if close and decision.allowed:
            assert engine.on_fill(kit.fill("SELL", 10, ts, symbol), position_before=D(10))
            trades.append(day)
