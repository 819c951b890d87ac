"""Allocation caps at the execution boundary: over cap x equity is refused, exactly at it passes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from mqk_isolation import (
    AllocationGuard,
    AllocationInputError,
    EngineSettingsError,
    UnknownEngineError,
    worst_case_price,
)
from mqk_schemas import Action, Decision, OrderIntent, OrderType, Side, client_order_id

D = Decimal
RUN = uuid.UUID("00000000-0000-4000-8000-000000000001")
EQUITY = D("100000")  # MAIN's cap 0.6 -> 60000


class Exposure:
    """One engine's exposure view: positions marked at 100."""

    def __init__(self, positions: Mapping[str, Decimal]) -> None:
        self._positions = dict(positions)

    @property
    def gross_exposure(self) -> Decimal:
        return sum((abs(q) * 100 for q in self._positions.values()), D(0))

    def position(self, symbol: str) -> Decimal:
        return self._positions.get(symbol, D(0))


def _intent(
    side: str,
    qty: str | int,
    *,
    engine: str = "MAIN",
    order_type: OrderType = OrderType.MARKET,
    limit: str | None = None,
    stop: str | None = None,
) -> OrderIntent:
    return OrderIntent(
        engine_id=engine,
        intent_seq=7,
        client_order_id=client_order_id(engine, RUN, 7),
        symbol="AAPL",
        side=Side(side),
        quantity=D(qty),
        order_type=order_type,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
    )


def _guard(buffer: str = "0") -> AllocationGuard:
    return AllocationGuard({"MAIN": D("0.6"), "EXP": D("0.4")}, market_buffer=D(buffer))


@pytest.mark.parametrize(
    ("held", "side", "qty", "buffer", "allowed"),
    [
        ({"MSFT": D(500)}, "BUY", 100, "0", True),  # 50000 + 10000 = exactly the cap
        ({"MSFT": D(500)}, "BUY", 101, "0", False),  # 60100
        ({"MSFT": D(500)}, "BUY", 99, "0.01", True),  # 99 x 101 = 9999 -> 59999
        ({"MSFT": D(500)}, "BUY", 100, "0.01", False),  # 100 x 101 = 10100 -> 60100
        ({}, "SELL", 600, "0", True),  # a short counts as exposure too: 60000
        ({}, "SELL", 601, "0", False),
        ({"MSFT": D(700)}, "BUY", 1, "0", False),  # already over the cap: no more
        ({"MSFT": D(700), "AAPL": D(10)}, "SELL", 10, "0", True),  # reducing always passes
        ({"AAPL": D(300)}, "SELL", 500, "0", True),  # crosses to a smaller short
        ({"AAPL": D(300)}, "SELL", 901, "0", False),  # crosses to a larger short: 30000 + 30100
    ],
)
def unit_order_over_engine_cap_is_refused_and_at_cap_allowed(
    held: dict[str, Decimal], side: str, qty: int, buffer: str, allowed: bool
) -> None:
    decision = _guard(buffer).check_allocation(
        _intent(side, qty), exposure=Exposure(held), account_equity=EQUITY, reference_price=D(100)
    )
    assert decision.allowed is allowed
    if not allowed:
        assert (decision.action, decision.reason_code) == (Action.REJECT, "ENGINE_CAP_EXCEEDED")


def unit_cap_refusal_carries_exact_evidence() -> None:
    decision = _guard("0.01").check_allocation(
        _intent("BUY", 100),
        exposure=Exposure({"MSFT": D(500)}),
        account_equity=EQUITY,
        reference_price=D(100),
    )
    assert decision.evidence == {
        "engine_id": "MAIN",
        "client_order_id": client_order_id("MAIN", RUN, 7),
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": D(100),
        "pending_same_side": D(0),
        "order_type": "MARKET",
        "position": D(0),
        "position_after": D(100),
        "worst_case_price": D("101.00"),
        "current_exposure": D(50000),
        "added_exposure": D(10100),
        "projected_exposure": D(60100),
        "allocation_cap": D("0.6"),
        "account_equity": EQUITY,
        "cap_amount": D(60000),
    }
    assert all(
        isinstance(v, Decimal) for k, v in decision.evidence.items() if k.endswith("exposure")
    )
    # built without validation on the hot path: equal to the validated model, field for field
    assert decision == Decision.model_validate(decision.model_dump())
    assert decision.message == (
        "engine MAIN exposure would be 60100.00, over its cap 0.6 x account equity"
        f" {EQUITY} = 60000.0"
    )


@pytest.mark.parametrize(
    ("order_type", "limit", "stop", "reference", "price"),
    [
        (OrderType.MARKET, None, None, "100", "102.00"),
        (OrderType.LIMIT, "95", None, "100", "95"),
        (OrderType.LIMIT, "95", None, None, "95"),
        (OrderType.STOP, None, "105", None, "105"),
    ],
)
def unit_worst_case_price_follows_the_order_type(
    order_type: OrderType, limit: str | None, stop: str | None, reference: str | None, price: str
) -> None:
    intent = _intent("BUY", 1, order_type=order_type, limit=limit, stop=stop)
    ref = None if reference is None else D(reference)
    assert worst_case_price(intent, reference_price=ref, market_buffer=D("0.02")) == D(price)


def unit_limit_order_is_capped_at_its_limit_price() -> None:
    intent = _intent("BUY", 100, order_type=OrderType.LIMIT, limit="100.01")
    decision = _guard().check_allocation(
        intent, exposure=Exposure({"MSFT": D(500)}), account_equity=EQUITY
    )
    assert decision.evidence["projected_exposure"] == D("60001.00")


def unit_no_positive_account_equity_refuses_any_added_exposure() -> None:
    decision = _guard().check_allocation(
        _intent("BUY", 1), exposure=Exposure({}), account_equity=D(0), reference_price=D(1)
    )
    assert decision.reason_code == "ENGINE_CAP_EXCEEDED"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"reference_price": None}, AllocationInputError, "needs a reference_price"),
        ({"reference_price": D(0)}, AllocationInputError, "must be > 0"),
        ({"account_equity": 100000.0}, AllocationInputError, "binary float"),
        ({"engine": "OTHER"}, UnknownEngineError, "no allocation cap for engine 'OTHER'"),
    ],
)
def fault_allocation_check_misuse_raises(kwargs: dict[str, Any], error: type, message: str) -> None:
    engine = kwargs.pop("engine", "MAIN")
    call: dict[str, Any] = {"account_equity": EQUITY, "reference_price": D(100), **kwargs}
    with pytest.raises(error, match=message):
        _guard().check_allocation(_intent("BUY", 1, engine=engine), exposure=Exposure({}), **call)


@pytest.mark.parametrize(
    ("caps", "code"),
    [
        ({"MAIN": D("0.6"), "EXP": D("0.41")}, "ALLOCATION_CAPS_EXCEED_ACCOUNT"),
        ({"MAIN": D("0")}, "ALLOCATION_CAP_OUT_OF_RANGE"),
        ({"MAIN": D("1.01")}, "ALLOCATION_CAP_OUT_OF_RANGE"),
        ({"MAIN": 0.5}, "ALLOCATION_CAP_INEXACT"),
        ({"main": D("0.5")}, "ENGINE_ID_INVALID"),
    ],
)
def unit_guard_refuses_caps_that_do_not_fit_the_account(caps: dict[str, Any], code: str) -> None:
    with pytest.raises(EngineSettingsError) as caught:
        AllocationGuard(caps, market_buffer=D(0))
    assert [v.reason_code for v in caught.value.violations] == [code]


def unit_caps_summing_to_exactly_one_are_accepted() -> None:
    guard = AllocationGuard({"MAIN": D("0.6"), "EXP": D("0.4")}, market_buffer=D(0))
    assert (guard.cap("MAIN"), guard.cap("EXP")) == (D("0.6"), D("0.4"))


def unit_negative_market_buffer_is_refused() -> None:
    with pytest.raises(AllocationInputError, match="market_buffer"):
        AllocationGuard({"MAIN": D("0.6")}, market_buffer=D("-0.01"))


def unit_pending_same_side_orders_count_toward_the_cap() -> None:
    guard = _guard()
    exposure = Exposure({"MSFT": D(500)})  # 50000 of a 60000 cap
    kwargs: dict[str, Any] = {"account_equity": EQUITY, "reference_price": D(100)}
    assert guard.check_allocation(
        _intent("BUY", 40), exposure=exposure, pending_same_side=D(60), **kwargs
    ).allowed
    refused = guard.check_allocation(
        _intent("BUY", 41), exposure=exposure, pending_same_side=D(60), **kwargs
    )
    assert refused.evidence["projected_exposure"] == D(60100)
    with pytest.raises(AllocationInputError, match="pending_same_side"):
        guard.check_allocation(
            _intent("BUY", 1), exposure=exposure, pending_same_side=D(-1), **kwargs
        )
