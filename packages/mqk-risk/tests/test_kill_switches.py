"""Every sticky kill switch trips with exact evidence, stays tripped, lets risk come off and
clears only by an operator call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mqk_risk import (
    KillSwitch,
    RiskEngine,
    RiskReport,
    SwitchNotActiveError,
    TradingState,
)
from mqk_schemas import (
    Action,
    Decision,
    OrderType,
    Side,
    TargetPosition,
    canonical_json,
    client_order_id,
)

D = Decimal


@dataclass(frozen=True)
class Case:
    """How to trip one switch, what it must record, and how its condition goes away."""

    switch: KillSwitch
    action: Action
    trip: Callable[[RiskEngine, Any], tuple[Decision, ...]]
    evidence: dict[str, Any]
    resolve: Callable[[RiskEngine, Any], tuple[Decision, ...]] = lambda engine, kit: ()
    changes: dict[str, Any] = field(default_factory=dict)


def _storm(engine: RiskEngine, kit: Any) -> tuple[Decision, ...]:
    out: tuple[Decision, ...] = ()
    for i in range(5):
        out += engine.on_reject(
            kit.T0 + kit.minutes(i), client_order_id=f"MAIN_x_{i}", reason_code="INSUFFICIENT_BP"
        )
    return out


CASES = [
    Case(
        KillSwitch.DAILY_LOSS,
        Action.FLATTEN_AND_HALT,
        trip=lambda e, kit: e.on_mark(kit.T0 + kit.minutes(1), D("97999")),
        evidence={
            "equity": D("97999"),
            "day_start_equity": D("100000"),
            "loss": D("2001"),
            "limit": D("0.02"),
            "trip_equity": D("98000"),
        },
        resolve=lambda e, kit: e.on_mark(kit.T0 + kit.minutes(30), D("100000")),
    ),
    Case(
        KillSwitch.MAX_DRAWDOWN,
        Action.FLATTEN_AND_HALT,
        trip=lambda e, kit: e.on_mark(kit.T0 + kit.minutes(1), D("90000")),
        evidence={
            "equity": D("90000"),
            "peak_equity": D("100000"),
            "drawdown": D("10000"),
            "limit": D("0.10"),
            "trip_equity": D("90000"),
        },
        resolve=lambda e, kit: e.on_mark(kit.T0 + kit.minutes(30), D("100000")),
        changes={"daily_loss_limit": D("1")},
    ),
    Case(
        KillSwitch.REJECT_STORM,
        Action.HALT_NEW,
        trip=_storm,
        evidence={
            "rejects": 5,
            "max_rejects": 5,
            "window_seconds": 300,
            "client_order_ids": [f"MAIN_x_{i}" for i in range(5)],
        },
    ),
    Case(
        KillSwitch.STALE_DATA,
        Action.HALT_NEW,
        trip=lambda e, kit: e.on_mark(
            kit.T0 + kit.minutes(10),
            D("100000"),
            data_ts=kit.T0 + kit.minutes(10) - timedelta(seconds=121),
        ),
        evidence={"age_seconds": D("121"), "limit_seconds": 120},
        resolve=lambda e, kit: e.on_mark(
            kit.T0 + kit.minutes(30), D("100000"), data_ts=kit.T0 + kit.minutes(30)
        ),
    ),
    Case(
        KillSwitch.DESYNC,
        Action.HALT_NEW,
        trip=lambda e, kit: e.report_desync(
            kit.T0 + kit.minutes(1), {"position_mismatch": {"AAPL": {"internal": D("100")}}}
        ),
        evidence={"desync": {"position_mismatch": {"AAPL": {"internal": D("100")}}}},
    ),
    Case(
        KillSwitch.MISSING_STOP,
        Action.HALT_NEW,
        trip=lambda e, kit: e.check_protective_stops(
            kit.T0 + kit.minutes(1), {"AAPL": D("100")}, {"AAPL": D("50")}
        ),
        evidence={"unprotected": {"AAPL": {"position": D("100"), "covered": D("50")}}},
        resolve=lambda e, kit: e.check_protective_stops(
            kit.T0 + kit.minutes(30), {"AAPL": D("100")}, {"AAPL": D("100")}
        ),
    ),
    Case(
        KillSwitch.MANUAL,
        Action.HALT_NEW,
        trip=lambda e, kit: (
            e.halt(kit.T0 + kit.minutes(1), reason="earnings week", operator="alice"),
        ),
        evidence={"reason": "earnings week", "operator": "alice"},
    ),
]
IDS = [case.switch.value for case in CASES]


def _armed(kit: Any, case: Case) -> tuple[RiskEngine, Any]:
    engine = kit.engine(**case.changes)
    portfolio = kit.FakePortfolio(D("100000"), {"AAPL": D("100")})
    assert engine.on_mark(kit.T0, D("100000"), data_ts=kit.T0) == ()
    return engine, portfolio


@pytest.mark.parametrize("case", CASES, ids=IDS)
def scenario_kill_switch_trips_with_exact_evidence(kit: Any, case: Case) -> None:
    engine, _ = _armed(kit, case)
    decisions = case.trip(engine, kit)
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision.reason_code == f"KILL_SWITCH_{case.switch.value}"
    assert decision.action is case.action
    assert decision.evidence["engine_id"] == "MAIN"
    assert decision.evidence["switch"] == case.switch.value
    for key, value in case.evidence.items():
        assert decision.evidence[key] == value, key
        if isinstance(value, Decimal):
            assert isinstance(decision.evidence[key], Decimal), key
    canonical_json(decision)  # evidence is serialisable exactly (no floats)
    assert engine.is_tripped(case.switch)
    assert engine.trading_state is TradingState.REDUCING


@pytest.mark.parametrize("case", CASES, ids=IDS)
def invariant_kill_switch_is_sticky_until_cleared(kit: Any, case: Case) -> None:
    engine, portfolio = _armed(kit, case)
    case.trip(engine, kit)
    if case.switch is not KillSwitch.MANUAL:  # a repeat of the breach is not recorded twice
        assert case.trip(engine, kit) == ()
    assert case.resolve(engine, kit) == ()  # the condition went away; no new breach
    assert engine.is_tripped(case.switch)
    refused = engine.check(kit.intent("BUY", 10), kit.ctx(portfolio, kit.T0 + kit.minutes(31)))
    assert refused.action is Action.REJECT
    assert refused.reason_code == "RISK_HALTED"
    assert refused.evidence["active_switches"] == [f"KILL_SWITCH_{case.switch.value}"]
    assert engine.trading_state is TradingState.REDUCING


@pytest.mark.parametrize("case", CASES, ids=IDS)
def invariant_tripped_engine_still_accepts_flattening(kit: Any, case: Case) -> None:
    engine, portfolio = _armed(kit, case)
    case.trip(engine, kit)
    when = kit.ctx(portfolio, kit.T0 + kit.minutes(31))
    assert engine.check(kit.intent("SELL", 100), when).allowed  # flatten
    assert engine.check(kit.intent("SELL", 40), when).allowed  # partial close
    assert not engine.check(kit.intent("SELL", 101), when).allowed  # crosses into a short
    assert not engine.check(kit.intent("BUY", 1), when).allowed  # adds


@pytest.mark.parametrize("case", CASES, ids=IDS)
def scenario_kill_switch_clears_only_by_operator(kit: Any, case: Case) -> None:
    engine, portfolio = _armed(kit, case)
    case.trip(engine, kit)
    case.resolve(engine, kit)
    ts = kit.T0 + kit.minutes(40)
    cleared = engine.clear(case.switch, ts=ts, operator="bob")
    assert cleared.action is Action.ALLOW
    assert cleared.reason_code == "KILL_SWITCH_CLEARED"
    assert cleared.evidence["cleared"] == f"KILL_SWITCH_{case.switch.value}"
    assert cleared.evidence["operator"] == "bob"
    assert not engine.is_tripped(case.switch)
    assert engine.trading_state is TradingState.ACTIVE
    assert engine.check(kit.intent("BUY", 10), kit.ctx(portfolio, ts)).allowed
    with pytest.raises(SwitchNotActiveError, match=f"KILL_SWITCH_{case.switch.value}"):
        engine.clear(case.switch, ts=ts, operator="bob")


def scenario_flatten_and_halt_returns_zero_targets_for_every_position(kit: Any) -> None:
    engine = kit.engine()
    portfolio = kit.FakePortfolio(D("100000"), {"MSFT": D("-5"), "AAPL": D("100"), "IBM": D(0)})
    assert engine.evaluate(portfolio, kit.T0) == RiskReport()
    portfolio.equity = D("97000")
    report = engine.evaluate(portfolio, kit.T0 + kit.minutes(5))
    assert [d.reason_code for d in report.decisions] == ["KILL_SWITCH_DAILY_LOSS"]
    assert report.flatten == (
        TargetPosition(symbol="AAPL", quantity=D(0)),
        TargetPosition(symbol="MSFT", quantity=D(0)),
    )
    # the next bar repeats the request (no new breach) until the book is flat
    again = engine.evaluate(portfolio, kit.T0 + kit.minutes(6))
    assert again.decisions == ()
    assert len(again.flatten) == 2
    intents = engine.flatten_intents(portfolio.positions(), run_id=kit.RUN, first_seq=41)
    assert [(i.symbol, i.side, i.quantity, i.intent_seq) for i in intents] == [
        ("AAPL", Side.SELL, D(100), 41),
        ("MSFT", Side.BUY, D(5), 42),
    ]
    assert all(i.reduce_only and i.order_type is OrderType.MARKET for i in intents)
    assert intents[0].client_order_id == client_order_id("MAIN", kit.RUN, 41)
    when = kit.ctx(portfolio, kit.T0 + kit.minutes(6))
    assert all(engine.check(i, when).allowed for i in intents)  # they pass the halt
    portfolio.set("AAPL", D(0))
    portfolio.set("MSFT", D(0))
    assert engine.evaluate(portfolio, kit.T0 + kit.minutes(7)) == RiskReport()
    assert engine.flatten_intents({}, run_id=kit.RUN, first_seq=43) == ()
    assert engine.trading_state is TradingState.REDUCING


def scenario_halt_new_requests_no_flatten(kit: Any) -> None:
    engine = kit.engine()
    engine.halt(kit.T0, reason="r", operator="o")
    assert not engine.flatten_requested
    assert engine.flatten_targets({"AAPL": D("5")}) == ()
    assert engine.flatten_intents({"AAPL": D("5")}, run_id=kit.RUN, first_seq=1) == ()


@pytest.mark.parametrize(
    "disarm",
    [
        lambda e, kit: e.report_desync(kit.T0, {"broker_only_order": "MAIN_1"}),
        lambda e, kit: (e.halt(kit.T0, reason="r", operator="o", action=Action.DISARM),),
    ],
    ids=["desync_action_DISARM", "manual_DISARM"],
)
def invariant_disarmed_engine_refuses_even_reducing_orders(kit: Any, disarm: Any) -> None:
    engine = kit.engine(desync_action="DISARM")
    portfolio = kit.FakePortfolio(D("100000"), {"AAPL": D("100")})
    engine.on_mark(kit.T0, D("100000"))
    engine.on_mark(kit.T0 + kit.minutes(1), D("97000"))  # FLATTEN_AND_HALT as well
    (decision,) = disarm(engine, kit)
    assert decision.action is Action.DISARM
    assert engine.trading_state is TradingState.DISARMED
    assert not engine.flatten_requested
    assert engine.flatten_targets({"AAPL": D("100")}) == ()
    refused = engine.check(kit.intent("SELL", 100), kit.ctx(portfolio))
    assert (refused.action, refused.reason_code) == (Action.REJECT, "RISK_DISARMED")
    engine.clear(KillSwitch(decision.evidence["switch"]), ts=kit.T0, operator="o")
    assert engine.trading_state is TradingState.REDUCING  # the daily loss is still tripped
    assert engine.check(kit.intent("SELL", 100), kit.ctx(portfolio)).allowed


def invariant_manual_halt_is_never_weakened_by_a_repeat(kit: Any) -> None:
    engine = kit.engine()
    engine.halt(kit.T0, reason="a", operator="o", action=Action.DISARM)
    again = engine.halt(kit.T0, reason="b", operator="o", action=Action.HALT_NEW)
    assert again.action is Action.DISARM
    assert engine.trading_state is TradingState.DISARMED


def unit_manual_halt_refuses_a_non_sticky_action(kit: Any) -> None:
    from mqk_risk import RiskInputError

    with pytest.raises(RiskInputError, match="HALT_NEW, FLATTEN_AND_HALT or DISARM"):
        kit.engine().halt(kit.T0, reason="r", operator="o", action=Action.REJECT)


def unit_disabled_kill_switches_leave_only_manual_and_order_limits(kit: Any) -> None:
    engine = kit.engine(kill_switches_enabled=False)
    assert engine.on_mark(kit.T0, D("100000"), data_ts=kit.T0 - kit.minutes(60)) == ()
    assert engine.on_mark(kit.T0 + kit.minutes(1), D("50000")) == ()
    assert engine.report_desync(kit.T0, {"x": 1}) == ()
    assert engine.check_protective_stops(kit.T0, {"AAPL": D(1)}, {}) == ()
    for i in range(10):
        assert engine.on_reject(kit.T0 + kit.minutes(i)) == ()
    assert engine.equity_floor is None
    assert engine.trading_state is TradingState.ACTIVE
    portfolio = kit.FakePortfolio(D("100000"))
    too_big = engine.check(kit.intent("BUY", 1001), kit.ctx(portfolio))
    assert too_big.reason_code == "KILL_SWITCH_MAX_POSITION_QUANTITY"
    engine.halt(kit.T0, reason="r", operator="o")
    assert engine.trading_state is TradingState.REDUCING


def unit_missing_stop_check_is_off_unless_required(kit: Any) -> None:
    engine = kit.engine(require_protective_stop=False)
    assert engine.check_protective_stops(kit.T0, {"AAPL": D(100)}, {}) == ()
    assert not engine.is_tripped(KillSwitch.MISSING_STOP)


def unit_short_position_needs_a_full_stop_too(kit: Any) -> None:
    engine = kit.engine()
    (decision,) = engine.check_protective_stops(
        kit.T0, {"AAPL": D("-30"), "MSFT": D("10")}, {"AAPL": D("29"), "MSFT": D("10")}
    )
    assert decision.evidence["unprotected"] == {"AAPL": {"position": D(-30), "covered": D(29)}}


def unit_cleared_daily_loss_trips_again_while_the_loss_persists(kit: Any) -> None:
    engine = kit.engine()
    engine.on_mark(kit.T0, D("100000"))
    engine.on_mark(kit.T0 + kit.minutes(1), D("97000"))
    engine.clear(KillSwitch.DAILY_LOSS, ts=kit.T0 + kit.minutes(2), operator="o")
    (again,) = engine.on_mark(kit.T0 + kit.minutes(3), D("97500"))
    assert again.reason_code == "KILL_SWITCH_DAILY_LOSS"


def unit_cleared_reject_storm_starts_a_fresh_window(kit: Any) -> None:
    engine = kit.engine()
    for i in range(5):
        engine.on_reject(kit.T0 + kit.minutes(i))
    engine.clear(KillSwitch.REJECT_STORM, ts=kit.T0 + kit.minutes(5), operator="o")
    for i in range(4):
        assert engine.on_reject(kit.T0 + kit.minutes(5 + i)) == ()
    assert len(engine.on_reject(kit.T0 + kit.minutes(9))) == 1
