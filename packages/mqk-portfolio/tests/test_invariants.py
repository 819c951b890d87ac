"""Properties over random fill sequences: conservation, recompute == incremental, FIFO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_portfolio import EngineLedger, FillStatus
from mqk_schemas import Fill, Side

START_CASH = Decimal("250000.5")
SYMBOLS = ("AAPL", "MSFT", "BTC/USD")
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def scaled(units: int, places: int) -> Decimal:
    return Decimal(units).scaleb(-places)


@st.composite
def operations(draw: st.DrawFn) -> list[Fill | tuple[str, Decimal]]:
    """Fills (some repeated verbatim, as a broker re-sending them) interleaved with marks."""
    ops: list[Fill | tuple[str, Decimal]] = []
    fills: list[Fill] = []
    for step in range(draw(st.integers(min_value=1, max_value=60))):
        kind = draw(st.sampled_from(["fill", "fill", "fill", "mark", "duplicate"]))
        symbol = draw(st.sampled_from(SYMBOLS))
        if kind == "duplicate" and fills:
            ops.append(draw(st.sampled_from(fills)))
        elif kind == "mark":
            price = scaled(draw(st.integers(1, 10**7)), draw(st.integers(0, 8)))
            ops.append((symbol, price))
        else:
            fill = Fill(
                broker_fill_id=f"F{step}",
                client_order_id=f"MAIN_run_{step:08d}",
                engine_id="MAIN",
                symbol=symbol,
                side=draw(st.sampled_from([Side.BUY, Side.SELL])),
                quantity=scaled(draw(st.integers(1, 10**5)), draw(st.integers(0, 4))),
                price=scaled(draw(st.integers(1, 10**7)), draw(st.integers(0, 8))),
                fee=scaled(draw(st.integers(0, 500)), 2),
                ts_utc=T0 + timedelta(seconds=step),
            )
            fills.append(fill)
            ops.append(fill)
    return ops


Lots = dict[str, list[tuple[Fraction, Fraction]]]


def reference_fifo(fills: list[Fill]) -> tuple[Fraction, Lots]:
    """An independent FIFO in exact fractions: total realised PnL and signed open lots."""
    realised = Fraction(0)
    books: Lots = {}
    for fill in fills:
        lots = books.setdefault(fill.symbol, [])
        qty = Fraction(fill.quantity) * fill.side.sign
        price = Fraction(fill.price)
        while qty and lots and (lots[0][0] > 0) != (qty > 0):
            lot_qty, lot_price = lots[0]
            take = min(abs(qty), abs(lot_qty))
            direction = 1 if lot_qty > 0 else -1
            realised += take * (price - lot_price) * direction
            lot_qty -= direction * take
            qty += direction * take
            if lot_qty:
                lots[0] = (lot_qty, lot_price)
            else:
                lots.pop(0)
        if qty:
            lots.append((qty, price))
    return realised, books


def check_identities(ledger: EngineLedger, applied: list[Fill]) -> None:
    # Conservation: cash + open cost basis - realised PnL + fees == starting cash.
    assert ledger.cash + ledger.cost_basis - ledger.realised_pnl + ledger.fees == START_CASH
    assert ledger.equity == ledger.cash + ledger.net_exposure
    assert ledger.unrealised_pnl == ledger.net_exposure - ledger.cost_basis
    assert ledger.drawdown == ledger.peak_equity - ledger.equity >= 0
    net = gross = Decimal(0)
    for symbol in SYMBOLS:
        held = sum((f.signed_quantity for f in applied if f.symbol == symbol), Decimal(0))
        assert ledger.position(symbol) == held
        lots = ledger.lots(symbol)
        assert sum((lot.quantity for lot in lots), Decimal(0)) == abs(held)
        if held:
            mark = ledger.mark_price(symbol)
            assert mark is not None
            net += held * mark
            gross += abs(held * mark)
    assert (ledger.net_exposure, ledger.gross_exposure) == (net, gross)


@settings(max_examples=200, deadline=None)
@given(ops=operations())
def invariant_ledger_conserves_cash_and_recompute_equals_incremental(
    ops: list[Fill | tuple[str, Decimal]],
) -> None:
    ledger = EngineLedger("MAIN", START_CASH)
    applied: list[Fill] = []
    duplicates = 0
    for payload in ops:
        if isinstance(payload, tuple):
            ledger.mark(*payload)
        else:
            before = ledger.snapshot()
            result = ledger.apply(payload)
            if result.status is FillStatus.DUPLICATE:
                duplicates += 1
                assert ledger.snapshot() == before
            else:
                applied.append(payload)
        check_identities(ledger, applied)
    assert ledger.duplicates_ignored == duplicates
    assert list(ledger.fills) == applied

    replayed = EngineLedger.replay("MAIN", START_CASH, ledger.fills)
    assert replayed.snapshot() == ledger.snapshot()
    marks = {s: p for s in SYMBOLS if (p := ledger.mark_price(s)) is not None}
    replayed.mark_all(marks)
    assert (replayed.equity, replayed.gross_exposure, replayed.net_exposure) == (
        ledger.equity,
        ledger.gross_exposure,
        ledger.net_exposure,
    )

    realised, books = reference_fifo(applied)
    assert Fraction(ledger.realised_pnl) == realised
    for symbol in SYMBOLS:
        expected = [(abs(q), p) for q, p in books.get(symbol, [])]
        assert [(Fraction(lot.quantity), Fraction(lot.price)) for lot in ledger.lots(symbol)] == (
            expected
        )
