"""FIFO lots: partial closes, shorts, flips through zero, fees, exposure and drawdown."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext

import pytest

from mqk_portfolio import EngineLedger
from mqk_schemas import Fill

FillFactory = Callable[..., Fill]
D = Decimal

# (fills as (side, qty, price)), expected realised, position, open lots (qty, price), cost basis
FIFO_CASES = [
    pytest.param(
        [("BUY", "10", "100"), ("SELL", "4", "105.5")],
        "22",
        "6",
        [("6", "100")],
        "600",
        id="long-partial-close-inside-first-lot",
    ),
    pytest.param(
        [("BUY", "10", "100"), ("BUY", "5", "110"), ("SELL", "12", "120")],
        "220",
        "3",
        [("3", "110")],
        "330",
        id="long-close-across-lots-oldest-first",
    ),
    pytest.param(
        [("BUY", "10", "100"), ("BUY", "5", "110"), ("SELL", "15", "90")],
        "-200",  # 10 * -10 + 5 * -20
        "0",
        [],
        "0",
        id="long-full-close-at-a-loss",
    ),
    pytest.param(
        [("BUY", "0.5", "30000.12345678"), ("SELL", "0.25", "30100")],
        "24.969135805",
        "0.25",
        [("0.25", "30000.12345678")],
        "7500.030864195",
        id="fractional-quantity-exact-to-the-last-digit",
    ),
    pytest.param(
        [("SELL", "10", "50"), ("BUY", "4", "45")],
        "20",
        "-6",
        [("6", "50")],
        "-300",
        id="short-partial-cover",
    ),
    pytest.param(
        [("SELL", "3", "50"), ("SELL", "3", "40"), ("BUY", "4", "45")],
        "10",  # 3 * (50 - 45) + 1 * (40 - 45)
        "-2",
        [("2", "40")],
        "-80",
        id="short-cover-across-lots-oldest-first",
    ),
    pytest.param(
        [("BUY", "10", "100"), ("SELL", "15", "110")],
        "100",
        "-5",
        [("5", "110")],
        "-550",
        id="flip-long-to-short-through-zero",
    ),
    pytest.param(
        [("SELL", "5", "20"), ("BUY", "8", "18")],
        "10",
        "3",
        [("3", "18")],
        "54",
        id="flip-short-to-long-through-zero",
    ),
]


@pytest.mark.parametrize(("trades", "realised", "position", "lots", "cost"), FIFO_CASES)
def unit_fifo_partial_close_realises_exact_pnl(
    make_fill: FillFactory,
    trades: list[tuple[str, str, str]],
    realised: str,
    position: str,
    lots: list[tuple[str, str]],
    cost: str,
) -> None:
    ledger = EngineLedger("MAIN", D(100_000))
    for i, (side, qty, price) in enumerate(trades):
        ledger.apply(make_fill(f"f{i}", side, qty, price))
    assert ledger.realised_pnl == D(realised)
    assert ledger.position("AAPL") == D(position)
    assert [(lot.quantity, lot.price) for lot in ledger.lots("AAPL")] == [
        (D(q), D(p)) for q, p in lots
    ]
    assert ledger.cost_basis == D(cost)
    signed_cash = sum((D(q) * D(p) * (-1 if side == "BUY" else 1) for side, q, p in trades), D(0))
    assert ledger.cash == D(100_000) + signed_cash


def scenario_short_then_cover_books_cash_equity_and_pnl_exactly(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(10_000))
    result = ledger.apply(make_fill("s1", "SELL", 10, 50, fee=1))
    assert result.position == D(-10)
    assert ledger.cash == D(10_499)
    assert ledger.equity == D(9_999)  # marked at the fill price: -10 * 50
    assert ledger.net_exposure == D(-500)
    assert ledger.gross_exposure == D(500)
    ledger.mark("AAPL", D(40))
    assert ledger.equity == D(10_099)
    assert ledger.unrealised_pnl == D(100)
    cover = ledger.apply(make_fill("b1", "BUY", 10, 40, fee=1))
    assert cover.realised_pnl == D(100)
    assert ledger.position("AAPL") == D(0)
    assert ledger.cash == D(10_098)
    assert ledger.equity == D(10_098)
    assert (ledger.realised_pnl, ledger.fees, ledger.unrealised_pnl) == (D(100), D(2), D(0))
    assert ledger.positions() == {}


def unit_fees_go_to_cash_and_never_into_realised_pnl(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    ledger.apply(make_fill("b", "BUY", 1, 100, fee="0.35"))
    ledger.apply(make_fill("s", "SELL", 1, 100, fee="0.35"))
    assert ledger.cash == D("999.30")
    assert ledger.fees == D("0.70")
    assert ledger.realised_pnl == D(0)
    assert ledger.equity == D("999.30")


def unit_exposure_and_leverage_count_longs_and_shorts(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(10_000))
    ledger.apply(make_fill("a", "BUY", 100, 10, symbol="AAPL"))
    ledger.apply(make_fill("m", "SELL", 50, 20, symbol="MSFT"))
    ledger.mark_all({"AAPL": D(12), "MSFT": D(22)})
    assert ledger.net_exposure == D(1_200) - D(1_100)
    assert ledger.gross_exposure == D(2_300)
    assert ledger.equity == D(10_000) + D(200) - D(100)
    assert ledger.leverage == D(2_300) / D(10_100)
    assert ledger.positions() == {"AAPL": D(100), "MSFT": D(-50)}
    assert [(p.symbol, p.quantity, p.average_price) for p in ledger.open_positions()] == [
        ("AAPL", D(100), D(10)),
        ("MSFT", D(-50), D(20)),
    ]


def unit_peak_equity_and_drawdown_follow_the_marks(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    ledger.apply(make_fill("b", "BUY", 10, 50))
    path = [("60", "1100", "1100", "0"), ("55", "1050", "1100", "50"), ("70", "1200", "1200", "0")]
    path += [("40", "900", "1200", "300")]
    for mark, equity, peak, drawdown in path:
        ledger.mark("AAPL", D(mark))
        assert (ledger.equity, ledger.peak_equity, ledger.drawdown) == (
            D(equity),
            D(peak),
            D(drawdown),
        )
    assert ledger.drawdown_fraction == D(300) / D(1200)


def unit_leverage_is_infinite_when_exposed_with_no_equity(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(100))
    assert ledger.leverage == D(0)
    ledger.apply(make_fill("b", "BUY", 10, 10))
    ledger.mark("AAPL", D("0.5"))
    assert ledger.equity == D(5)
    ledger.apply(make_fill("b2", "BUY", 20, "0.5", fee=20))
    assert ledger.equity == D(-15)
    assert ledger.leverage == D("Infinity")


def unit_money_beyond_28_digits_stays_exact(make_fill: FillFactory) -> None:
    start = D("1000000000000000000.00000001")
    ledger = EngineLedger("MAIN", start)
    ledger.apply(make_fill("b", "BUY", "123456789.12345678", "98765.43210987", fee="0.00000001"))
    with localcontext(prec=100):
        expected = start - D("123456789.12345678") * D("98765.43210987") - D("0.00000001")
    assert len(expected.as_tuple().digits) > 28  # the default context would have rounded it
    assert ledger.cash == expected
    assert ledger.cash + ledger.cost_basis - ledger.realised_pnl + ledger.fees == start
