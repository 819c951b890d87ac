"""Brackets: legs activate on the entry fill, OCO, ambiguity policy, trailing never loosens."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from mqk_execution import AmbiguityPolicy, Bracket
from mqk_schemas import OrderStatus, OrderType, Side

if TYPE_CHECKING:
    from conftest import Harness

D = Decimal


def _open_long(h: Harness, bracket: Bracket, quantity: str = "10") -> str:
    """Bar 0 decides a market buy with ``bracket``; bar 1 (open 100) fills it."""
    h.flat_bar("100")
    result = h.submit(Side.BUY, quantity, bracket=bracket)
    assert result.order is not None
    h.bar("100", "100.5", "99.5", "100")
    return result.order.client_order_id


def _legs(h: Harness) -> dict[OrderType, str]:
    return {o.order_type: o.client_order_id for o in h.gateway.open_orders()}


def scenario_legs_activate_only_when_the_entry_fills(harness: Harness) -> None:
    harness.flat_bar("100")
    entry = harness.submit(
        Side.BUY, "10", OrderType.LIMIT, limit="98", bracket=Bracket(D(95), D(110))
    ).order
    assert entry is not None
    harness.flat_bar("100")  # entry not touched: no legs yet
    assert [o.client_order_id for o in harness.gateway.open_orders()] == [entry.client_order_id]
    harness.bar("99", "99", "97", "98")  # entry fills at 98; the low never reaches the stop
    legs = _legs(harness)
    assert set(legs) == {OrderType.STOP, OrderType.LIMIT}
    stop = harness.gateway.order(legs[OrderType.STOP])
    target = harness.gateway.order(legs[OrderType.LIMIT])
    assert (stop.side, stop.quantity, stop.stop_price) == (Side.SELL, D(10), D(95))
    assert (target.side, target.quantity, target.limit_price) == (Side.SELL, D(10), D(110))
    assert harness.gateway.is_protective(stop.client_order_id)
    assert harness.gateway.is_protective(target.client_order_id)


def scenario_target_fill_cancels_the_stop_oco(harness: Harness) -> None:
    _open_long(harness, Bracket(D(95), D(110)))
    legs = _legs(harness)
    harness.bar("105", "111", "104", "109")
    assert harness.fill_log()[-1] == (2, "10", "110")
    assert harness.gateway.order(legs[OrderType.STOP]).status is OrderStatus.CANCELED
    assert harness.positions.position("AAPL") == 0
    assert not harness.broker.has_resting
    oco = [e for e in harness.events if e.event_type == "ORDER_CANCELED"]
    assert [e.payload["reason"] for e in oco] == ["OCO"]


@pytest.mark.parametrize(
    ("policy", "ohlc", "expected_price", "ambiguous"),
    [
        (AmbiguityPolicy.CONSERVATIVE_WORST_CASE, ("100", "111", "94", "100"), "95", 1),
        (AmbiguityPolicy.OPTIMISTIC, ("100", "111", "94", "100"), "110", 1),
        (AmbiguityPolicy.OPEN_PROXIMITY, ("108", "111", "94", "100"), "110", 1),
        (AmbiguityPolicy.OPEN_PROXIMITY, ("97", "111", "94", "100"), "95", 1),
        (AmbiguityPolicy.OPEN_PROXIMITY, ("102.5", "111", "94", "100"), "95", 1),  # tie -> stop
        # the open gapped through one leg: no ambiguity, that leg filled first at the open
        (AmbiguityPolicy.OPTIMISTIC, ("93", "111", "92", "100"), "93", 0),
        (AmbiguityPolicy.CONSERVATIVE_WORST_CASE, ("112", "113", "94", "100"), "112", 0),
    ],
)
def contract_bar_touching_stop_and_target_resolves_by_policy(
    make_harness: Callable[..., Harness],
    policy: AmbiguityPolicy,
    ohlc: tuple[str, str, str, str],
    expected_price: str,
    ambiguous: int,
) -> None:
    h = make_harness(ambiguity_policy=policy.value)
    _open_long(h, Bracket(D(95), D(110)))
    h.bar(*ohlc)
    assert h.fill_log()[1:] == ((2, "10", expected_price),)
    assert h.broker.ambiguous_bars == ambiguous
    assert h.positions.position("AAPL") == 0
    assert h.gateway.open_orders() == ()


def contract_gap_through_protective_stop_fills_at_the_open(harness: Harness) -> None:
    _open_long(harness, Bracket(D(95), D(110)))
    harness.bar("88", "90", "85", "89")
    assert harness.fill_log()[-1] == (2, "10", "88")


def contract_legs_do_not_fill_on_the_entry_bar(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10", bracket=Bracket(D(95), D(110)))
    harness.bar("100", "100", "90", "92")  # entry at 100, then the low breaks the stop level
    assert harness.fill_log() == ((1, "10", "100"),)
    harness.bar("92", "93", "91", "92")  # next bar: the stop (already gapped) fills at the open
    assert harness.fill_log()[-1] == (2, "10", "92")


@pytest.mark.parametrize(
    ("closes", "expected_stops"),
    [
        # long, trail 3: rises move the stop up, falls never move it down
        (["101", "104", "102", "106", "105"], ["98", "101", "101", "103", "103"]),
        (["99", "98", "97"], ["96", "96", "96"]),
        (["100.004"], ["97"]),  # rounding never tightens beyond close - trail
    ],
)
def contract_trailing_stop_only_tightens(
    harness: Harness, closes: list[str], expected_stops: list[str]
) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "10", bracket=Bracket(D(90), None, trail_amount=D(3)))
    stops = []
    for close in closes:
        c = D(close)
        harness.bar(close, str(c + 1), str(c - D("0.5")), close)
        (stop,) = harness.gateway.open_orders()
        stops.append(stop.stop_price)
    assert stops == [D(s) for s in expected_stops]


def contract_trailing_moves_by_replace_with_lineage(harness: Harness) -> None:
    harness.flat_bar("100")
    entry = harness.submit(Side.BUY, "10", bracket=Bracket(D(90), None, trail_amount=D(3)))
    assert entry.order is not None
    for close in ("101", "103", "102"):
        harness.bar(close, close, close, close)
    (stop,) = harness.gateway.open_orders()
    coid = entry.order.client_order_id
    assert harness.gateway.lineage(stop.client_order_id) == (
        f"{coid}-S0",
        f"{coid}-S1",
        f"{coid}-S2",
    )
    assert harness.gateway.order(f"{coid}-S0").status is OrderStatus.CANCELED
    assert stop.stop_price == D(100)


def contract_short_trailing_stop_only_tightens_downwards(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.SELL, "5", bracket=Bracket(D(110), D(80), trail_amount=D(4)))
    seen = []
    for close in ("99", "95", "97", "90"):
        harness.bar(close, close, close, close)
        stops = [o.stop_price for o in harness.gateway.open_orders() if o.stop_price]
        seen.append(stops[0])
    assert seen == [D(103), D(99), D(99), D(94)]


def contract_partial_entry_fills_resize_the_legs_by_replace(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(
        partial_fills={"enabled": True, "fill_fraction_min": "0.3", "probability": "1"}, seed=11
    )
    h.flat_bar("100")
    entry = h.submit(Side.BUY, "100", bracket=Bracket(D(90), D(120))).order
    assert entry is not None
    for _ in range(12):
        h.flat_bar("100")
    filled = h.gateway.order(entry.client_order_id).filled_quantity
    assert filled == D(100)
    legs = h.gateway.open_orders()
    assert {leg.quantity for leg in legs} == {filled}
    stop = next(leg for leg in legs if leg.order_type is OrderType.STOP)
    assert len(h.gateway.lineage(stop.client_order_id)) == len(h.fills)


def contract_exit_leg_never_opens_a_position(harness: Harness) -> None:
    _open_long(harness, Bracket(D(95), D(110)))
    close = harness.intent(Side.SELL, "10")
    assert harness.gateway.submit(close, arm_token=harness.token).accepted
    harness.flat_bar("100")  # position closed by the market sell
    assert harness.positions.position("AAPL") == 0
    harness.bar("100", "100", "90", "91")  # the stop level trades: nothing to close
    assert harness.positions.position("AAPL") == 0
    reasons = [e.payload["reason"] for e in harness.events if e.event_type == "ORDER_CANCELED"]
    assert "REDUCE_ONLY_NOTHING_TO_CLOSE" in reasons


def contract_stop_exit_cancels_the_unfilled_entry_remainder(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(
        partial_fills={"enabled": True, "fill_fraction_min": "0.5", "probability": "1"}, seed=5
    )
    h.flat_bar("100")
    entry = h.submit(
        Side.BUY, "100", OrderType.LIMIT, limit="100", bracket=Bracket(D(95), D(110))
    ).order
    assert entry is not None
    h.flat_bar("100")  # partial entry fill
    h.bar("94", "94", "93", "94")  # stop gapped: exit; entry remainder canceled
    order = h.gateway.order(entry.client_order_id)
    assert order.status is OrderStatus.CANCELED
    assert D(0) < order.filled_quantity < D(100)
    assert h.positions.position("AAPL") == 0


@pytest.mark.parametrize(
    "bracket",
    [
        Bracket(D(105), D(110)),  # stop above a long market entry's target side ordering is fine,
        Bracket(D(95), D(90)),  # target below the stop
        Bracket(D(95), None, trail_amount=D(0)),
    ],
)
def fault_invalid_bracket_is_rejected_by_the_broker(harness: Harness, bracket: Bracket) -> None:
    harness.flat_bar("100")
    result = harness.submit(Side.BUY, "10", OrderType.LIMIT, limit="100", bracket=bracket)
    assert result.accepted
    assert result.order is not None
    assert result.order.status is OrderStatus.REJECTED
    rejected = [e for e in harness.events if e.event_type == "ORDER_REJECTED"]
    assert [e.payload["reason"] for e in rejected] == ["BRACKET_INVALID"]
