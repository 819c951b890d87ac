"""The optimised pre-trade check (evidence built only to refuse, cached switch list, inlined
input checks and order limits, lazily built PDT openings) against a straightforward reference
of the previous logic over random mark / fill / order / halt sequences: same action, reason
code, message and evidence (contents and key order) for every order."""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqk_risk import (
    DayTrade,
    KillSwitch,
    PdtLimits,
    PdtMode,
    RiskContext,
    RiskEngine,
    TradingState,
)
from mqk_risk._pdt import PdtBook
from mqk_schemas import Action, Decision, OrderIntent, OrderType, Side

D = Decimal
_ZERO = D(0)


def _signed(side: Side, quantity: Decimal) -> Decimal:
    return quantity if side is Side.BUY else -quantity


def reference_check(engine: RiskEngine, intent: OrderIntent, context: RiskContext) -> Decision:
    """RiskEngine.check as it was: the full evidence first, then each rule in order."""
    portfolio = context.portfolio
    ts, pending = context.ts, context.pending_same_side
    side, quantity = intent.side, intent.quantity
    before = portfolio.position(intent.symbol)
    after = before + _signed(side, quantity)
    worst_after = after + _signed(side, pending)
    total = quantity + pending
    reducing = (
        before > _ZERO and total <= before
        if side is Side.SELL
        else before < _ZERO and total <= -before
    )
    assert context.session is not None
    session = context.session
    evidence: dict[str, Any] = {
        "engine_id": engine.engine_id,
        "ts": ts,
        "client_order_id": intent.client_order_id,
        "symbol": intent.symbol,
        "side": side.value,
        "quantity": quantity,
        "position": before,
        "position_after": after,
        "pending_same_side": pending,
    }
    state = engine.trading_state
    if state is not TradingState.ACTIVE and (state is TradingState.DISARMED or not reducing):
        active = [item.decision.reason_code for item in engine.active_switches]
        disarmed = state is TradingState.DISARMED
        switches = ", ".join(active)
        return Decision(
            action=Action.REJECT,
            reason_code="RISK_DISARMED" if disarmed else "RISK_HALTED",
            message=(
                f"engine MAIN is disarmed by {switches}; nothing passes"
                if disarmed
                else f"engine MAIN is halted by {switches}; only risk-reducing orders pass"
            ),
            evidence={**evidence, "trading_state": state.value, "active_switches": active},
        )
    closes = before != _ZERO and (after < before if before > _ZERO else after > before)
    pdt = engine._pdt  # the reference reads the book the engine keeps
    limits = engine.limits
    if limits.pdt.mode.value == "auto" and closes:
        opened = pdt.pending_open(intent.symbol, session)
        trades = pdt.trades_in_window()
        if opened is not None and len(trades) >= limits.pdt.max_day_trades:
            value = portfolio.equity
            if value < limits.pdt.equity_threshold:
                return Decision(
                    action=Action.REJECT,
                    reason_code="KILL_SWITCH_PDT",
                    message=(
                        f"closing {intent.symbol} opened this session would be day trade "
                        f"{len(trades) + 1} within {limits.pdt.window_sessions} sessions with "
                        f"equity {value} below {limits.pdt.equity_threshold}"
                    ),
                    evidence={
                        **evidence,
                        "switch": "PDT",
                        "session": session,
                        "opened_at": opened.opened_at,
                        "day_trades_in_window": len(trades),
                        "max_day_trades": limits.pdt.max_day_trades,
                        "window_sessions": list(pdt.window()),
                        "day_trades": [
                            {"symbol": t.symbol, "session": t.session, "closed_at": t.closed_at}
                            for t in trades
                        ],
                        "equity": value,
                        "equity_threshold": limits.pdt.equity_threshold,
                    },
                )
    if reducing:
        return Decision.allow()
    price = intent.limit_price or intent.stop_price or context.price
    assert price is not None
    evidence["price"] = price
    evidence["position_after_pending"] = worst_after
    equity, gross = portfolio.equity, portfolio.gross_exposure

    def breach(switch: KillSwitch, message: str, **extra: Any) -> Decision:
        return Decision(
            action=Action.REJECT,
            reason_code=switch.reason_code,
            message=message,
            evidence={**evidence, "switch": switch.value, **extra},
        )

    if worst_after < _ZERO and not limits.allow_short:
        return breach(
            KillSwitch.SHORT_NOT_ALLOWED,
            f"order would leave a short position of {worst_after}; shorting is not allowed",
        )
    size = abs(worst_after)
    if size > limits.max_position_quantity:
        return breach(
            KillSwitch.MAX_POSITION_QUANTITY,
            f"position {size} would exceed max_position_quantity {limits.max_position_quantity}",
            limit=limits.max_position_quantity,
        )
    notional = size * price
    if notional > limits.max_position_notional:
        return breach(
            KillSwitch.MAX_POSITION_NOTIONAL,
            f"position notional {notional} would exceed max_position_notional "
            f"{limits.max_position_notional}",
            notional_after=notional,
            limit=limits.max_position_notional,
        )
    projected = gross + (size - abs(before)) * price
    extra = {"equity": equity, "gross_exposure": gross, "projected_gross_exposure": projected}
    if equity <= _ZERO:
        return breach(
            KillSwitch.MAX_LEVERAGE,
            f"equity {equity} is not positive; no risk may be added",
            **extra,
            limit=limits.max_leverage,
        )
    gross_limit = limits.max_gross_exposure * equity
    if projected > gross_limit:
        return breach(
            KillSwitch.MAX_GROSS_EXPOSURE,
            f"gross exposure {projected} would exceed {limits.max_gross_exposure} x equity "
            f"= {gross_limit}",
            **extra,
            limit=limits.max_gross_exposure,
            limit_amount=gross_limit,
        )
    leverage_limit = limits.max_leverage * equity
    if projected > leverage_limit:
        return breach(
            KillSwitch.MAX_LEVERAGE,
            f"gross exposure {projected} would exceed max_leverage {limits.max_leverage} x "
            f"equity = {leverage_limit}",
            **extra,
            limit=limits.max_leverage,
            limit_amount=leverage_limit,
        )
    return Decision.allow()


def same_decision(got: Decision, want: Decision) -> None:
    assert (got.action, got.reason_code, got.message) == (
        want.action,
        want.reason_code,
        want.message,
    )
    assert list(got.evidence) == list(want.evidence)  # key order too
    assert repr(got.evidence) == repr(want.evidence)  # values to the last digit


step = st.one_of(
    st.tuples(
        st.just("order"),
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from([1, 5, 10, 50, 400, 2000]),
        st.sampled_from(["AAPL", "MSFT"]),
        st.sampled_from(["MARKET", "LIMIT", "STOP"]),
        st.sampled_from([0, 0, 5]),
        st.sampled_from(["100", "99.50", "1000"]),
    ),
    st.tuples(
        st.just("fill"),
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from([5, 10, 50]),
        st.sampled_from(["AAPL", "MSFT"]),
    ),
    st.tuples(
        st.just("mark"), st.sampled_from(["100000", "97000", "85000", "20000", "-5", "24000.50"])
    ),
    st.tuples(st.just("minutes"), st.sampled_from([1, 30, 600, 1440])),
    st.tuples(st.just("halt"), st.sampled_from([Action.HALT_NEW, Action.DISARM])),
    st.tuples(st.just("clear")),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(step, min_size=1, max_size=40),
    st.booleans(),
    st.sampled_from(["auto", "auto", "off"]),
    st.sampled_from([0, 1]),
    st.sampled_from(["0.5", "1.0", "2"]),
)
def invariant_check_equals_reference_over_random_sequences(
    kit: Any,
    steps: list[tuple[Any, ...]],
    short: bool,
    pdt_mode: str,
    day_trades: int,
    max_gross: str,
) -> None:
    engine = kit.engine(
        initial_equity=D(100000),
        allow_short=short,
        pdt={"mode": pdt_mode, "max_day_trades": day_trades},
        max_gross_exposure=D(max_gross),
        require_protective_stop=False,
    )
    portfolio = kit.FakePortfolio(D(100000))
    ts = kit.T0
    for item in steps:
        kind = item[0]
        if kind == "order":
            _, side, qty, symbol, order_type, pending, price = item
            limit = price if order_type == "LIMIT" else None
            stop = price if order_type == "STOP" else None
            intent = kit.intent(
                side, qty, symbol, order_type=OrderType(order_type), limit=limit, stop=stop
            )
            context = RiskContext(
                ts=ts,
                portfolio=portfolio,
                price=D(price),
                session=kit.session_of(ts),
                pending_same_side=D(pending),
            )
            want = reference_check(engine, intent, context)
            same_decision(engine.check(intent, context), want)
            # the adapters' entry point: the same decision from the context's fields
            same_decision(
                engine.check_order(intent, ts, portfolio, D(price), D(pending), kit.session_of(ts)),
                want,
            )
        elif kind == "fill":
            _, side, qty, symbol = item
            before = portfolio.position(symbol)
            fill = kit.fill(side, qty, ts, symbol)
            engine.on_fill(fill, position_before=before)
            portfolio.set(symbol, before + fill.signed_quantity)
        elif kind == "mark":
            portfolio.equity = D(item[1])
            engine.on_mark(ts, portfolio.equity, data_ts=ts)
        elif kind == "minutes":
            ts += timedelta(minutes=item[1])
        elif kind == "halt":
            engine.halt(ts, reason="test", operator="op", action=item[1])
        elif engine.active_switches:
            engine.clear(engine.active_switches[0].switch, ts=ts, operator="op")
        ts += timedelta(seconds=1)
    # the lazily built PDT openings survive a snapshot round trip
    again = RiskEngine.from_state(engine.limits, engine.snapshot(), session_of=kit.session_of)
    assert again.snapshot() == engine.snapshot()
    # and so does the halted refusal's text (rendered when the state changes)
    intent = kit.intent("BUY", 10)
    context = RiskContext(ts=ts, portfolio=portfolio, price=D(100), session=kit.session_of(ts))
    same_decision(again.check(intent, context), reference_check(engine, intent, context))


def scenario_pdt_and_gross_exposure_refusals_equal_reference(kit: Any) -> None:
    engine = kit.engine(
        initial_equity=D(100000),
        pdt={"max_day_trades": 1},
        max_gross_exposure=D("0.5"),
        require_protective_stop=False,
    )
    portfolio = kit.FakePortfolio(D(20000))
    ts = kit.T0
    seen = []
    for side, qty in [
        ("BUY", 10),
        ("SELL", 10),
        ("BUY", 10),
        ("SELL", 5),
        ("BUY", 90),
        ("BUY", 95),
    ]:
        intent = kit.intent(side, qty)
        context = RiskContext(ts=ts, portfolio=portfolio, price=D(100), session=kit.session_of(ts))
        want = reference_check(engine, intent, context)
        got = engine.check(intent, context)
        same_decision(got, want)
        seen.append(got.reason_code)
        if got.allowed:
            before = portfolio.position("AAPL")
            fill = kit.fill(side, qty, ts)
            engine.on_fill(fill, position_before=before)
            portfolio.set("AAPL", before + fill.signed_quantity)
        ts += timedelta(minutes=1)
    assert seen == ["OK", "OK", "OK", "KILL_SWITCH_PDT", "OK", "KILL_SWITCH_MAX_GROSS_EXPOSURE"]


def _reference_window(book: PdtBook) -> tuple[DayTrade, ...]:
    """The day trades inside the window as they were found: a binary search over all of
    them for the window's first session."""
    sessions, _, trades = book.snapshot()
    if not sessions:
        return trades
    return trades[bisect.bisect_left(trades, sessions[0], key=lambda t: t.session) :]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 12), max_size=6),
    st.lists(st.integers(0, 12), max_size=8),
    st.lists(
        st.tuples(st.sampled_from(["open", "close", "observe"]), st.integers(0, 3)),
        max_size=30,
    ),
    st.integers(1, 4),
)
def invariant_day_trades_in_window_equal_a_binary_search(
    restored_sessions: list[int],
    restored_trades: list[int],
    steps: list[tuple[str, int]],
    window: int,
) -> None:
    """The window's day trades (the PDT limit's count) are the binary search's, also after a
    restore leaves trades older than the window (where the search is still needed)."""
    day0 = date(2024, 1, 1)
    at = datetime(2024, 1, 1, 15, tzinfo=UTC)
    limits = PdtLimits(
        mode=PdtMode.AUTO, equity_threshold=D(25000), max_day_trades=3, window_sessions=window
    )
    book = PdtBook(limits)
    trades = [
        DayTrade(symbol="AAPL", session=day0 + timedelta(days=d), opened_at=at, closed_at=at)
        for d in restored_trades
    ]
    book.restore([day0 + timedelta(days=d) for d in restored_sessions], [], trades)
    assert book.trades_in_window() == _reference_window(book)
    day = max(restored_sessions + restored_trades, default=0)
    for kind, step in steps:
        day += step
        session = day0 + timedelta(days=day)
        when = at + timedelta(days=day)
        if kind == "open":
            book.record_fill("AAPL", D(0), D(10), session, when)
        elif kind == "close":
            book.record_fill("AAPL", D(10), D(0), session, when)
        else:
            book.observe(session)
        assert book.trades_in_window() == _reference_window(book)
        opened_at = book.at_limit("AAPL", session)
        pending = book.pending_open("AAPL", session)
        expected = (
            pending.opened_at
            if pending is not None and len(_reference_window(book)) >= limits.max_day_trades
            else None
        )
        assert opened_at == expected
