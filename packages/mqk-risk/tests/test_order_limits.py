"""Pre-trade order limits: exact at the limit passes, one unit over is refused with evidence."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from mqk_risk import EngineMismatchError, RiskContext, RiskInputError, is_risk_reducing
from mqk_schemas import Action, OrderType, Side

D = Decimal


@pytest.mark.parametrize(
    ("held", "side", "qty", "price", "changes", "reason"),
    [
        ({}, "SELL", 10, "100", {}, "KILL_SWITCH_SHORT_NOT_ALLOWED"),
        ({}, "SELL", 10, "100", {"allow_short": True}, None),
        ({"AAPL": D(5)}, "SELL", 10, "100", {}, "KILL_SWITCH_SHORT_NOT_ALLOWED"),
        ({}, "BUY", 1000, "50", {}, None),  # quantity and notional exactly at their limits
        ({}, "BUY", 1001, "10", {}, "KILL_SWITCH_MAX_POSITION_QUANTITY"),
        (
            {"AAPL": D(-1000)},
            "SELL",
            1,
            "10",
            {"allow_short": True},
            "KILL_SWITCH_MAX_POSITION_QUANTITY",
        ),
        ({}, "BUY", 500, "100", {}, None),
        ({}, "BUY", 501, "100", {}, "KILL_SWITCH_MAX_POSITION_NOTIONAL"),
        ({"MSFT": D(600)}, "BUY", 400, "100", {}, None),  # gross exactly 1.0 x equity
        ({"MSFT": D(600)}, "BUY", 401, "100", {}, "KILL_SWITCH_MAX_GROSS_EXPOSURE"),
        (
            {"MSFT": D(600)},
            "BUY",
            401,
            "100",
            {"max_gross_exposure": D(2)},
            "KILL_SWITCH_MAX_LEVERAGE",
        ),
        (
            {"MSFT": D(600)},
            "BUY",
            401,
            "100",
            {"max_gross_exposure": D(2), "max_leverage": D(2)},
            None,
        ),
    ],
)
def unit_order_limits_refuse_one_unit_over_and_allow_exactly_at(
    kit: Any,
    held: dict[str, Decimal],
    side: str,
    qty: int,
    price: str,
    changes: dict[str, Any],
    reason: str | None,
) -> None:
    engine = kit.engine(**changes)
    portfolio = kit.FakePortfolio(D("100000"), held)
    decision = engine.check(kit.intent(side, qty), kit.ctx(portfolio, price=price))
    if reason is None:
        assert decision.allowed, decision
    else:
        assert (decision.action, decision.reason_code) == (Action.REJECT, reason)
        assert decision.evidence["position"] == held.get("AAPL", D(0))
        assert decision.evidence["price"] == D(price)


def unit_breach_evidence_carries_exact_numbers(kit: Any) -> None:
    engine = kit.engine()
    portfolio = kit.FakePortfolio(D("100000"), {"MSFT": D(600)})
    decision = engine.check(kit.intent("BUY", 401), kit.ctx(portfolio, price="100"))
    assert decision.evidence["gross_exposure"] == D(60000)
    assert decision.evidence["projected_gross_exposure"] == D(100100)
    assert decision.evidence["limit_amount"] == D(100000)
    assert decision.evidence["equity"] == D(100000)
    notional = engine.check(kit.intent("BUY", 501), kit.ctx(kit.FakePortfolio(D(100000))))
    assert notional.evidence["notional_after"] == D(50100)
    assert notional.evidence["limit"] == D(50000)


def unit_no_positive_equity_refuses_any_added_risk(kit: Any) -> None:
    decision = kit.engine().check(kit.intent("BUY", 1), kit.ctx(kit.FakePortfolio(D(0))))
    assert decision.reason_code == "KILL_SWITCH_MAX_LEVERAGE"
    assert decision.evidence["equity"] == D(0)


@pytest.mark.parametrize(
    ("order_type", "limit", "stop", "allowed"),
    [
        (OrderType.LIMIT, "100", None, True),
        (OrderType.LIMIT, "100.01", None, False),  # valued at its limit, not the market price
        (OrderType.STOP, None, "100.01", False),
        (OrderType.STOP, None, "99", True),
    ],
)
def unit_limit_and_stop_orders_are_valued_at_their_own_price(
    kit: Any, order_type: OrderType, limit: str | None, stop: str | None, allowed: bool
) -> None:
    intent = kit.intent("BUY", 500, order_type=order_type, limit=limit, stop=stop)
    decision = kit.engine().check(intent, kit.ctx(kit.FakePortfolio(D(100000)), price="1"))
    assert decision.allowed is allowed


def invariant_reducing_orders_pass_even_when_the_position_breaks_limits(kit: Any) -> None:
    engine = kit.engine()
    portfolio = kit.FakePortfolio(D("100000"), {"AAPL": D(5000)})
    assert engine.check(kit.intent("SELL", 500), kit.ctx(portfolio)).allowed
    assert not engine.check(kit.intent("BUY", 1), kit.ctx(portfolio)).allowed


@pytest.mark.parametrize(
    ("position", "side", "qty", "reducing"),
    [
        ("100", Side.SELL, "100", True),
        ("100", Side.SELL, "1", True),
        ("100", Side.SELL, "101", False),  # crosses into a short
        ("100", Side.BUY, "1", False),
        ("0", Side.SELL, "1", False),
        ("0", Side.BUY, "1", False),
        ("-50", Side.BUY, "50", True),
        ("-50", Side.BUY, "51", False),
        ("-50", Side.SELL, "1", False),
        ("0.5", Side.SELL, "0.5", True),
    ],
)
def unit_risk_reduction_is_decided_from_position_and_order(
    position: str, side: Side, qty: str, reducing: bool
) -> None:
    assert is_risk_reducing(D(position), side, D(qty)) is reducing


def fault_reduce_only_flag_alone_does_not_make_an_order_reducing(kit: Any) -> None:
    engine = kit.engine()
    engine.halt(kit.T0, reason="r", operator="o")
    intent = kit.intent("BUY", 10).model_copy(update={"reduce_only": True})
    decision = engine.check(intent, kit.ctx(kit.FakePortfolio(D(100000))))
    assert decision.reason_code == "RISK_HALTED"


def fault_intent_of_another_engine_is_misuse(kit: Any) -> None:
    with pytest.raises(EngineMismatchError, match="engine EXP"):
        kit.engine().check(kit.intent("BUY", 1, engine="EXP"), kit.ctx(kit.FakePortfolio(D(1))))


@pytest.mark.parametrize(
    ("ts", "price", "message"),
    [
        (datetime(2024, 3, 4, 15), "100", "not a timezone-aware datetime"),
        (None, 100.5, "binary float"),
        (None, "0", "must be > 0"),
    ],
)
def fault_bad_context_is_refused_before_deciding(
    kit: Any, ts: datetime | None, price: Any, message: str
) -> None:
    context = RiskContext(
        ts=ts or kit.T0,
        portfolio=kit.FakePortfolio(D(100000)),
        price=price if isinstance(price, float) else D(price),
    )
    with pytest.raises(RiskInputError, match=message):
        kit.engine().check(kit.intent("BUY", 1), context)


def unit_pending_same_side_orders_count_toward_the_limits(kit: Any) -> None:
    engine = kit.engine()
    context = RiskContext(
        ts=kit.T0, portfolio=kit.FakePortfolio(D(100000)), price=D(10), pending_same_side=D(900)
    )
    assert engine.check(kit.intent("BUY", 100), context).allowed
    decision = engine.check(kit.intent("BUY", 101), context)
    assert decision.reason_code == "KILL_SWITCH_MAX_POSITION_QUANTITY"
    assert decision.evidence["position_after"] == D(101)
    assert decision.evidence["position_after_pending"] == D(1001)


def invariant_an_order_crossing_zero_with_pending_orders_is_not_reducing(kit: Any) -> None:
    engine = kit.engine()
    engine.halt(kit.T0, reason="r", operator="o")
    portfolio = kit.FakePortfolio(D(100000), {"AAPL": D(100)})
    context = RiskContext(ts=kit.T0, portfolio=portfolio, price=D(100), pending_same_side=D(60))
    assert engine.check(kit.intent("SELL", 40), context).allowed
    assert engine.check(kit.intent("SELL", 41), context).reason_code == "RISK_HALTED"


def unit_market_orders_need_a_price_but_limit_orders_carry_their_own(kit: Any) -> None:
    engine = kit.engine()
    context = RiskContext(ts=kit.T0, portfolio=kit.FakePortfolio(D(100000)), price=None)
    with pytest.raises(RiskInputError, match=r"needs context\.price"):
        engine.check(kit.intent("BUY", 1), context)
    limit = kit.intent("BUY", 1, order_type=OrderType.LIMIT, limit="10")
    assert engine.check(limit, context).allowed
    negative = RiskContext(
        ts=kit.T0, portfolio=kit.FakePortfolio(D(1)), price=D(1), pending_same_side=D(-1)
    )
    with pytest.raises(RiskInputError, match="pending_same_side"):
        engine.check(kit.intent("BUY", 1), negative)
