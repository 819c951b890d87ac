"""Contract tests of the SimBroker fill model: prices, timing, costs, partial fills."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from mqk_execution import CENT, CostModel, ExecutionSettings, base_price, round_to_tick
from mqk_schemas import OrderStatus, OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from conftest import Harness

OHLC = tuple[str, str, str, str]


@dataclass(frozen=True)
class FillCase:
    """One order submitted while bar 0 is current, then bars 1..n; expected (bar, qty, price)."""

    side: Side
    order_type: OrderType
    bars: tuple[OHLC, ...]
    expected: tuple[tuple[int, str, str], ...]
    limit: str | None = None
    stop: str | None = None
    quantity: str = "10"
    settings: dict[str, Any] = field(default_factory=dict)


FLAT: OHLC = ("100", "100", "100", "100")

CASES = {
    "market fills at the next bar's open, never on the decision bar": FillCase(
        Side.BUY, OrderType.MARKET, (FLAT, ("102", "103", "101", "102")), ((1, "10", "102"),)
    ),
    "market sell fills at the next open": FillCase(
        Side.SELL, OrderType.MARKET, (FLAT, ("97.5", "98", "96", "97")), ((1, "10", "97.5"),)
    ),
    "limit buy fills at its price when the low touches it": FillCase(
        Side.BUY,
        OrderType.LIMIT,
        (FLAT, ("100", "101", "98.5", "100")),
        ((1, "10", "99"),),
        limit="99",
    ),
    "limit buy rests while the low stays above it": FillCase(
        Side.BUY,
        OrderType.LIMIT,
        (FLAT, ("100", "101", "99.01", "100"), ("100", "100", "99", "99.5")),
        ((2, "10", "99"),),
        limit="99",
    ),
    "limit buy fills at the open when the open gapped below it": FillCase(
        Side.BUY, OrderType.LIMIT, (FLAT, ("97", "98", "96", "97")), ((1, "10", "97"),), limit="99"
    ),
    "limit sell fills at its price when the high touches it": FillCase(
        Side.SELL,
        OrderType.LIMIT,
        (FLAT, ("101", "106", "100", "104")),
        ((1, "10", "105"),),
        limit="105",
    ),
    "limit sell fills at the open when the open gapped above it": FillCase(
        Side.SELL,
        OrderType.LIMIT,
        (FLAT, ("107", "108", "106", "107")),
        ((1, "10", "107"),),
        limit="105",
    ),
    "stop buy fills at its price when the high touches it": FillCase(
        Side.BUY,
        OrderType.STOP,
        (FLAT, ("101", "104", "100", "102")),
        ((1, "10", "103"),),
        stop="103",
    ),
    "stop sell fills at its price when the low touches it": FillCase(
        Side.SELL,
        OrderType.STOP,
        (FLAT, ("100", "101", "94", "96")),
        ((1, "10", "95"),),
        stop="95",
    ),
    "a gap through a sell stop fills at the (worse) open": FillCase(
        Side.SELL, OrderType.STOP, (FLAT, ("90", "92", "88", "91")), ((1, "10", "90"),), stop="95"
    ),
    "a gap through a buy stop fills at the (worse) open": FillCase(
        Side.BUY,
        OrderType.STOP,
        (FLAT, ("110", "111", "109", "110")),
        ((1, "10", "110"),),
        stop="103",
    ),
    "submit latency 2: an order decided on bar t fills on t+3": FillCase(
        Side.BUY,
        OrderType.MARKET,
        (FLAT, ("101",) * 4, ("102",) * 4, ("103", "104", "102", "103")),
        ((3, "10", "103"),),
        settings={"latency_bars": {"submit": 2}},
    ),
    "allow_same_bar_fills: a market order fills at the decision bar's close": FillCase(
        Side.BUY,
        OrderType.MARKET,
        (("99", "101", "98", "100.5"), ("102", "103", "101", "102")),
        ((0, "10", "100.5"),),
        settings={"allow_same_bar_fills": True},
    ),
    "allow_same_bar_fills: a limit the close does not reach rests to the next bar": FillCase(
        Side.BUY,
        OrderType.LIMIT,
        (("99", "101", "98", "100.5"), ("100", "100", "99", "99.5")),
        ((1, "10", "99.5"),),
        limit="99.5",
        settings={"allow_same_bar_fills": True},
    ),
    "costs: buy pays half spread + range-grown slippage, rounded up to the cent": FillCase(
        # range 1/123.45 -> 81.0044..bps * 0.1 = 8.1004..bps; +5 slippage +5 half spread
        # = 123.45 * (1 + 0.0018100445..) = 123.45 + 0.12345 + 0.1 = 123.67345 -> 123.68
        Side.BUY,
        OrderType.MARKET,
        (FLAT, ("123.45", "124", "123", "123.5")),
        ((1, "100", "123.68"),),
        quantity="100",
        settings={
            "spread_bps": "10",
            "slippage_bps": "5",
            "slippage_volatility_multiplier": "0.1",
            "slippage_cap_bps": "30",
        },
    ),
    "costs: sell receives the same costs, rounded down to the cent": FillCase(
        # 123.45 - 0.12345 - 0.1 = 123.22655 -> 123.22
        Side.SELL,
        OrderType.MARKET,
        (FLAT, ("123.45", "124", "123", "123.5")),
        ((1, "100", "123.22"),),
        quantity="100",
        settings={
            "spread_bps": "10",
            "slippage_bps": "5",
            "slippage_volatility_multiplier": "0.1",
            "slippage_cap_bps": "30",
        },
    ),
    "costs: slippage is capped on a wide bar": FillCase(
        # range 4/100 = 400bps * 0.5 = 200bps + 5 -> capped at 20; + 5 half spread = 25bps
        Side.BUY,
        OrderType.MARKET,
        (FLAT, ("100", "102", "98", "101")),
        ((1, "10", "100.25"),),
        settings={
            "spread_bps": "10",
            "slippage_bps": "5",
            "slippage_volatility_multiplier": "0.5",
            "slippage_cap_bps": "20",
        },
    ),
    "costs: a limit fill is never worse than its limit": FillCase(
        Side.BUY,
        OrderType.LIMIT,
        (FLAT, ("100", "101", "98", "100")),
        ((1, "10", "99"),),
        limit="99",
        settings={"spread_bps": "20", "slippage_bps": "10", "slippage_cap_bps": "10"},
    ),
    "costs: a touched stop pays costs on top of its stop price": FillCase(
        # 95 * (1 - 15/10000) = 94.8575 -> sell rounds down -> 94.85
        Side.SELL,
        OrderType.STOP,
        (FLAT, ("100", "101", "94", "96")),
        ((1, "10", "94.85"),),
        stop="95",
        settings={"spread_bps": "10", "slippage_bps": "10", "slippage_cap_bps": "10"},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def contract_fill_model_prices_and_timing(
    make_harness: Callable[..., Harness], case: FillCase
) -> None:
    h = make_harness(**case.settings)
    h.bar(*case.bars[0])
    result = h.submit(case.side, case.quantity, case.order_type, limit=case.limit, stop=case.stop)
    assert result.accepted
    for ohlc in case.bars[1:]:
        h.bar(*ohlc)
    assert h.fill_log() == case.expected


def contract_fill_timestamps_are_the_bar_close(harness: Harness) -> None:
    harness.flat_bar("100")
    harness.submit(Side.BUY, "5")
    (fill,) = harness.flat_bar("101")
    assert fill.ts_utc == harness.clock.now
    assert harness.day_of(fill) == 1


@pytest.mark.parametrize(
    ("quantity", "per_share", "bps", "minimum", "expected_fee"),
    [
        ("100", "0.005", "1", "1", "1.74"),  # 0.5 + 12368 * 0.0001 = 1.7368 -> up to 1.74
        ("10", "0.005", "1", "1", "1.00"),  # 0.05 + 0.12368 = 0.17368 -> minimum 1
        ("10", "0", "0", "0", "0"),  # no commission at all
        ("3", "0.01", "0", "0", "0.03"),
        ("1", "0", "0", "2.5", "2.50"),  # the minimum applies even with zero rates
    ],
)
def contract_commission_per_share_bps_with_minimum(
    make_harness: Callable[..., Harness],
    quantity: str,
    per_share: str,
    bps: str,
    minimum: str,
    expected_fee: str,
) -> None:
    h = make_harness(commission_per_share=per_share, commission_bps=bps, commission_minimum=minimum)
    h.flat_bar("100")
    h.submit(Side.BUY, quantity)
    h.bar("123.68", "124", "123", "123.5")
    (fill,) = h.fills
    assert fill.price == Decimal("123.68")
    assert fill.fee == Decimal(expected_fee)


def contract_commission_minimum_is_charged_once_per_order_across_partial_fills(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(
        commission_per_share="0.001",
        commission_minimum="1",
        partial_fills={"enabled": True, "fill_fraction_min": "0.2", "probability": "1"},
        seed=7,
    )
    h.flat_bar("100")
    h.submit(Side.BUY, "1000")
    for _ in range(30):
        h.flat_bar("100")
        if h.gateway.order(h.fills[0].client_order_id).status is OrderStatus.FILLED:
            break
    assert len(h.fills) >= 2
    assert sum(f.quantity for f in h.fills) == Decimal(1000)
    # 1000 shares * 0.001 = 1.00 total; the 1.00 minimum is not charged per fill
    assert sum(f.fee for f in h.fills) == Decimal("1.00")
    assert h.fills[0].fee == Decimal("1.00")
    assert all(f.fee == 0 for f in h.fills[1:])


def _partial_run(make_harness: Callable[..., Harness], seed: int) -> list[tuple[int, str]]:
    h = make_harness(
        partial_fills={"enabled": True, "fill_fraction_min": "0.1", "probability": "0.7"},
        seed=seed,
    )
    h.flat_bar("50")
    h.submit(Side.BUY, "1000")
    h.submit(Side.SELL, "333", OrderType.LIMIT, limit="49")
    for i in range(12):
        h.bar("50", "51", "48", str(50 - i % 2))
    return [(h.day_of(f), str(f.quantity)) for f in h.fills]


def contract_partial_fills_same_seed_same_fills(make_harness: Callable[..., Harness]) -> None:
    first = _partial_run(make_harness, seed=42)
    assert first == _partial_run(make_harness, seed=42)
    assert any(qty not in ("1000", "333") for _, qty in first)  # some fills really are partial
    assert sum(Decimal(q) for _, q in first) == Decimal(1333)


def contract_partial_fills_different_seed_different_fills(
    make_harness: Callable[..., Harness],
) -> None:
    assert _partial_run(make_harness, seed=1) != _partial_run(make_harness, seed=2)


def contract_partial_fill_quantities_keep_the_order_precision(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(
        partial_fills={"enabled": True, "fill_fraction_min": "0.3", "probability": "1"}, seed=3
    )
    h.flat_bar("100")
    h.submit(Side.BUY, "2.5")
    for _ in range(10):
        h.flat_bar("100")
    assert sum(f.quantity for f in h.fills) == Decimal("2.5")
    assert all(f.quantity == f.quantity.quantize(Decimal("0.1")) for f in h.fills)


def contract_cancel_latency_lets_the_order_fill_until_it_takes_effect(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(latency_bars={"cancel": 1})
    h.flat_bar("100")
    coid = h.submit(Side.BUY, "10", OrderType.LIMIT, limit="95").order.client_order_id  # type: ignore[union-attr]
    h.gateway.cancel(coid)
    assert h.gateway.order(coid).status is OrderStatus.SUBMITTED
    h.bar("100", "100", "94", "96")  # t+1: the cancel is still in flight, the limit fills
    assert [f.price for f in h.fills] == [Decimal(95)]
    assert h.gateway.order(coid).status is OrderStatus.FILLED


def contract_cancel_with_latency_takes_effect_before_bar_t_plus_1_plus_latency(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(latency_bars={"cancel": 2})
    h.flat_bar("100")
    coid = h.submit(Side.BUY, "10", OrderType.LIMIT, limit="90").order.client_order_id  # type: ignore[union-attr]
    h.gateway.cancel(coid)
    h.flat_bar("100")
    h.flat_bar("100")
    assert h.gateway.order(coid).status is OrderStatus.SUBMITTED
    h.bar("100", "100", "80", "85")  # t+3: canceled before this bar is processed
    assert h.fills == []
    assert h.gateway.order(coid).status is OrderStatus.CANCELED
    assert not h.broker.has_resting


def contract_cancel_without_latency_is_immediate(harness: Harness) -> None:
    harness.flat_bar("100")
    coid = harness.submit(Side.BUY, "10").order.client_order_id  # type: ignore[union-attr]
    assert harness.gateway.cancel(coid).status is OrderStatus.CANCELED
    harness.flat_bar("100")
    assert harness.fills == []


def contract_ioc_order_is_canceled_after_its_first_bar(harness: Harness) -> None:
    harness.flat_bar("100")
    coid = harness.submit(
        Side.BUY, "10", OrderType.LIMIT, limit="95", tif=TimeInForce.IOC
    ).order.client_order_id  # type: ignore[union-attr]
    harness.bar("100", "101", "96", "97")
    assert harness.gateway.order(coid).status is OrderStatus.CANCELED
    assert any(
        e.event_type == "ORDER_CANCELED" and e.payload["reason"] == "IOC_EXPIRED"
        for e in harness.events
    )


def contract_day_order_expires_when_the_date_changes(harness: Harness) -> None:
    harness.flat_bar("100")
    coid = harness.submit(
        Side.BUY, "10", OrderType.LIMIT, limit="95", tif=TimeInForce.DAY
    ).order.client_order_id  # type: ignore[union-attr]
    harness.flat_bar("100")  # first eligible bar (day 1): not touched, still working
    assert harness.gateway.order(coid).status is OrderStatus.SUBMITTED
    harness.bar("94", "94", "90", "92")  # day 2: expired before it could fill
    assert harness.fills == []
    assert harness.gateway.order(coid).status is OrderStatus.CANCELED


def contract_idle_bar_is_a_no_op_and_nothing_rests(harness: Harness) -> None:
    assert not harness.broker.has_resting
    assert harness.flat_bar("100") == ()
    harness.submit(Side.BUY, "1")
    assert harness.broker.has_resting
    assert harness.broker.resting_symbols == frozenset({"AAPL"})
    assert harness.flat_bar("100", symbol="MSFT") == ()
    assert len(harness.flat_bar("100")) == 1
    assert not harness.broker.has_resting


@pytest.mark.parametrize(
    ("side", "price", "tick", "expected"),
    [
        (Side.BUY, "100.001", "0.01", "100.01"),
        (Side.SELL, "100.009", "0.01", "100.00"),
        (Side.BUY, "100.00", "0.01", "100.00"),
        (Side.BUY, "17.26", "0.05", "17.30"),
        (Side.SELL, "17.29", "0.05", "17.25"),
        (Side.SELL, "0.001", "0.01", "0.01"),  # never rounds to zero
    ],
)
def unit_round_to_tick_rounds_against_the_trader(
    side: Side, price: str, tick: str, expected: str
) -> None:
    assert round_to_tick(Decimal(price), Decimal(tick), side) == Decimal(expected)


@pytest.mark.parametrize(
    ("side", "order_type", "level", "ohlc", "expected"),
    [
        (Side.BUY, OrderType.LIMIT, "99", ("100", "101", "99", "100"), "99"),
        (Side.BUY, OrderType.LIMIT, "99", ("100", "101", "99.01", "100"), None),
        (Side.SELL, OrderType.STOP, "95", ("95", "96", "94", "95"), "95"),
        (Side.SELL, OrderType.STOP, "95", ("96", "97", "95.01", "96"), None),
        (Side.BUY, OrderType.STOP, "103", ("104", "105", "103.5", "104"), "104"),
    ],
)
def unit_base_price_touch_and_gap(
    side: Side, order_type: OrderType, level: str, ohlc: tuple[str, ...], expected: str | None
) -> None:
    o, h, low, _ = (Decimal(x) for x in ohlc)
    limit = Decimal(level) if order_type is OrderType.LIMIT else None
    stop = Decimal(level) if order_type is OrderType.STOP else None
    got = base_price(side, order_type, limit, stop, o, h, low)
    assert got == (Decimal(expected) if expected is not None else None)


def unit_cost_model_fee_total_rounds_up_to_the_cent() -> None:
    costs = CostModel.from_settings(ExecutionSettings(commission_minimum=Decimal("0.35")))
    assert costs.order_fee_total(Decimal("0.351")) == Decimal("0.36")
    assert costs.order_fee_total(Decimal("0.1")) == Decimal("0.35")
    assert CostModel.from_settings(ExecutionSettings()).order_fee_total(Decimal(0)) == 0


@pytest.mark.parametrize(
    ("costs", "free"),
    [
        ({}, True),
        ({"spread_bps": Decimal("0.5")}, False),
        ({"slippage_bps": Decimal(1), "slippage_cap_bps": Decimal(1)}, False),
        ({"slippage_cap_bps": Decimal(5)}, False),
        ({"slippage_volatility_multiplier": Decimal("0.1")}, False),
        ({"commission_per_share": Decimal("0.001")}, False),
        ({"commission_bps": Decimal(1)}, False),
        ({"commission_minimum": Decimal(1)}, False),
    ],
)
def unit_a_cost_model_is_free_only_when_every_cost_is_zero(
    costs: dict[str, Decimal], free: bool
) -> None:
    model = CostModel.from_settings(ExecutionSettings(**costs))
    assert model.free is free
    if free:
        price = model.fill_price(
            Decimal("99.987"), Side.BUY, None, CENT, Decimal("99.987"), Decimal(101), Decimal(99)
        )
        assert price == Decimal("99.99")
        assert model.order_fee_total(model.raw_commission(Decimal(100), price)) == 0
