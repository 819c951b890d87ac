"""The optimised ledger (exact thread context, single-lot FIFO path, cached equity and gross
exposure, pre-validated marks) against a straightforward reference of the previous logic:
every number to the last digit (exponent included), every lot, every result and error."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, DecimalException, getcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_portfolio import (
    EngineLedger,
    FillStatus,
    InvalidMarkError,
    LedgerPrecisionError,
    Lot,
)
from mqk_portfolio._exact import exact_context
from mqk_schemas import Fill, Side

START = Decimal("100000.50")
SYMBOLS = ("AAPL", "MSFT", "SPY")
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
_ZERO = Decimal(0)


class ReferenceLedger:
    """The ledger's arithmetic as it was: every operation through the exact context's methods,
    the FIFO loop for every close, equity and gross exposure recomputed on every read."""

    def __init__(self, starting_cash: Decimal) -> None:
        self.ctx = exact_context()
        self.cash = starting_cash
        self.realised = self.fees = self.cost = self.net = _ZERO
        self.peak = starting_cash
        self.books: dict[str, dict[str, Any]] = {}
        self.marks: dict[str, Decimal] = {}
        self.ids: set[str] = set()

    def equity(self) -> Decimal:
        return self.ctx.add(self.cash, self.net)

    def gross(self) -> Decimal:
        gross = _ZERO
        for book in self.books.values():
            if book["value"]:
                gross = self.ctx.add(gross, book["value"].copy_abs())
        return gross

    def apply(self, fill: Fill) -> tuple[FillStatus, Decimal, Decimal]:
        ctx = self.ctx
        if fill.broker_fill_id in self.ids:
            return FillStatus.DUPLICATE, _ZERO, self.books[fill.symbol]["quantity"]
        book = self.books.get(fill.symbol) or {
            "lots": deque(),
            "quantity": _ZERO,
            "cost": _ZERO,
            "realised": _ZERO,
            "fees": _ZERO,
            "value": _ZERO,
        }
        price, remaining = fill.price, fill.quantity
        signed = remaining if fill.side is Side.BUY else remaining.copy_negate()
        held = book["quantity"]
        new_quantity = ctx.add(held, signed)
        lots: deque[Lot] = book["lots"]
        if not held or (held > 0) == (signed > 0):
            consumed, head = 0, None
            opened: Lot | None = Lot(remaining, price, fill.broker_fill_id, fill.ts_utc)
            cost_delta, realised = ctx.multiply(signed, price), _ZERO
        else:
            long = held > 0
            consumed, head, realised, cost_delta = 0, None, _ZERO, _ZERO
            for lot in lots:
                take = min(remaining, lot.quantity)
                edge = ctx.subtract(price, lot.price) if long else ctx.subtract(lot.price, price)
                realised = ctx.add(realised, ctx.multiply(take, edge))
                closed = ctx.multiply(take, lot.price)
                cost_delta = (
                    ctx.subtract(cost_delta, closed) if long else ctx.add(cost_delta, closed)
                )
                remaining = ctx.subtract(remaining, take)
                if take == lot.quantity:
                    consumed += 1
                else:
                    head = Lot(
                        ctx.subtract(lot.quantity, take), lot.price, lot.broker_fill_id, lot.ts_utc
                    )
                if not remaining:
                    break
            opened = None
            if remaining:
                opened = Lot(remaining, price, fill.broker_fill_id, fill.ts_utc)
                cost = ctx.multiply(remaining, price)
                cost_delta = ctx.subtract(cost_delta, cost) if long else ctx.add(cost_delta, cost)
        mark = self.marks.get(fill.symbol, price)
        value = ctx.multiply(new_quantity, mark)
        self.cash = ctx.subtract(ctx.subtract(self.cash, ctx.multiply(signed, price)), fill.fee)
        self.net = ctx.add(ctx.subtract(self.net, book["value"]), value)
        self.cost = ctx.add(self.cost, cost_delta)
        self.realised = ctx.add(self.realised, realised)
        self.fees = ctx.add(self.fees, fill.fee)
        book["cost"] = ctx.add(book["cost"], cost_delta)
        book["realised"] = ctx.add(book["realised"], realised)
        book["fees"] = ctx.add(book["fees"], fill.fee)
        for _ in range(consumed):
            lots.popleft()
        if head is not None:
            lots[0] = head
        if opened is not None:
            lots.append(opened)
        book["quantity"], book["value"] = new_quantity, value
        self.books[fill.symbol] = book
        self.marks[fill.symbol] = mark
        self.ids.add(fill.broker_fill_id)
        self.peak = max(self.peak, self.equity())
        return FillStatus.APPLIED, realised, new_quantity

    def mark_all(self, prices: dict[str, Decimal]) -> None:
        for symbol, price in prices.items():
            self.marks[symbol] = price
            book = self.books.get(symbol)
            if book is not None and book["quantity"]:
                value = self.ctx.multiply(book["quantity"], price)
                self.net = self.ctx.add(self.net, self.ctx.subtract(value, book["value"]))
                book["value"] = value
        self.peak = max(self.peak, self.equity())


def scaled(units: int, places: int) -> Decimal:
    return Decimal(units).scaleb(-places)


prices = st.builds(scaled, st.integers(1, 10**6), st.integers(-1, 6))


@st.composite
def operations(draw: st.DrawFn) -> list[Any]:
    """Fills (single-lot and many-lot books, partial closes, flips, re-sent fills) and marks."""
    ops: list[Any] = []
    fills: list[Fill] = []
    for step in range(draw(st.integers(1, 50))):
        kind = draw(st.sampled_from(["fill", "fill", "fill", "mark", "duplicate"]))
        if kind == "duplicate" and fills:
            ops.append(draw(st.sampled_from(fills)))
        elif kind == "mark":
            symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
            ops.append({symbol: draw(prices) for symbol in symbols})
        else:
            fill = Fill(
                broker_fill_id=f"F{step}",
                client_order_id=f"MAIN_run_{step:08d}",
                engine_id="MAIN",
                symbol=draw(st.sampled_from(SYMBOLS)),
                side=draw(st.sampled_from([Side.BUY, Side.SELL])),
                quantity=draw(st.sampled_from([Decimal(100), Decimal(50), Decimal("0.5")]))
                if draw(st.booleans())
                else scaled(draw(st.integers(1, 10**4)), draw(st.integers(-1, 3))),
                price=draw(prices),
                fee=scaled(draw(st.integers(0, 500)), draw(st.integers(0, 3))),
                ts_utc=T0 + timedelta(seconds=step),
            )
            fills.append(fill)
            ops.append(fill)
    return ops


def exact_text(value: Decimal) -> str:
    """A Decimal's full representation: equal text means equal value and exponent and sign."""
    return repr(value)


def assert_same(ledger: EngineLedger, reference: ReferenceLedger) -> None:
    assert exact_text(ledger.cash) == exact_text(reference.cash)
    assert exact_text(ledger.equity) == exact_text(reference.equity())
    assert exact_text(ledger.peak_equity) == exact_text(reference.peak)
    assert exact_text(ledger.gross_exposure) == exact_text(reference.gross())
    assert exact_text(ledger.net_exposure) == exact_text(reference.net)
    assert exact_text(ledger.realised_pnl) == exact_text(reference.realised)
    assert exact_text(ledger.fees) == exact_text(reference.fees)
    assert exact_text(ledger.cost_basis) == exact_text(reference.cost)
    for symbol in SYMBOLS:
        book = reference.books.get(symbol)
        lots = () if book is None else tuple(book["lots"])
        assert [
            (repr(lot.quantity), repr(lot.price), lot.broker_fill_id) for lot in ledger.lots(symbol)
        ] == [(repr(lot.quantity), repr(lot.price), lot.broker_fill_id) for lot in lots]
        assert ledger.lots(symbol) == lots
        quantity = _ZERO if book is None else book["quantity"]
        assert exact_text(ledger.position(symbol)) == exact_text(quantity)
    for state in ledger.snapshot().positions:
        book = reference.books[state.symbol]
        assert (repr(state.cost_basis), repr(state.realised_pnl), repr(state.fees)) == (
            repr(book["cost"]),
            repr(book["realised"]),
            repr(book["fees"]),
        )


@settings(max_examples=300, deadline=None)
@given(operations())
def invariant_optimised_ledger_equals_reference_to_the_last_digit(ops: list[Any]) -> None:
    ledger = EngineLedger("MAIN", START)
    reference = ReferenceLedger(START)
    caller_context = getcontext()
    for op in ops:
        if isinstance(op, Fill):
            result = ledger.apply(op)
            status, realised, position = reference.apply(op)
            assert result.status is status
            assert repr(result.realised_pnl) == repr(realised)
            assert repr(result.position) == repr(position)
            assert result.fill is op
        else:
            ledger.mark_all(op)
            reference.mark_all(op)
        assert getcontext() is caller_context  # the exact context never leaks to the caller
        assert_same(ledger, reference)


def unit_fast_fill_result_and_lot_equal_the_dataclass_built_ones() -> None:
    ledger = EngineLedger("MAIN", START)
    fill = Fill(
        broker_fill_id="F1",
        client_order_id="MAIN_run_00000001",
        engine_id="MAIN",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(100),
        price=Decimal("10.5"),
        ts_utc=T0,
    )
    result = ledger.apply(fill)
    from mqk_portfolio import FillResult

    assert result == FillResult(FillStatus.APPLIED, fill, _ZERO, Decimal(100))
    assert result.decision is None
    assert ledger.lots("AAPL") == (Lot(Decimal(100), Decimal("10.5"), "F1", T0),)
    with pytest.raises(AttributeError):
        result.position = _ZERO  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ledger.lots("AAPL")[0].price = _ZERO  # type: ignore[misc]


def fault_bad_mark_in_mark_all_changes_nothing_and_raises_as_before() -> None:
    ledger = EngineLedger("MAIN", START)
    fill = Fill(
        broker_fill_id="F1",
        client_order_id="MAIN_run_00000001",
        engine_id="MAIN",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(10),
        price=Decimal(100),
        ts_utc=T0,
    )
    ledger.apply(fill)
    equity, gross = ledger.equity, ledger.gross_exposure
    for bad, text in [
        (Decimal(-1), "mark MSFT: -1 must be > 0"),
        (Decimal(0), "mark MSFT: 0 must be > 0"),
        (1.5, "mark MSFT"),
        (Decimal("NaN"), "mark MSFT"),
    ]:
        with pytest.raises(InvalidMarkError, match=text):
            ledger.mark_all({"AAPL": Decimal(120), "MSFT": bad})
        assert (ledger.equity, ledger.gross_exposure, ledger.mark_price("AAPL")) == (
            equity,
            gross,
            Decimal(100),
        )
    ledger.mark_all({"AAPL": "120", "MSFT": 7})  # type: ignore[dict-item]
    assert (ledger.mark_price("AAPL"), ledger.gross_exposure) == (Decimal(120), Decimal(1200))


def fault_exact_arithmetic_failure_changes_nothing_and_restores_the_callers_context() -> None:
    ledger = EngineLedger("MAIN", START)
    huge = Decimal("9" * 70)
    fill = Fill(
        broker_fill_id="F1",
        client_order_id="MAIN_run_00000001",
        engine_id="MAIN",
        symbol="AAPL",
        side=Side.BUY,
        quantity=huge,
        price=huge,  # the product has 140 digits: more than the exact context holds
        ts_utc=T0,
    )
    caller = Context(prec=7)
    from decimal import localcontext

    with localcontext(caller) as current:
        with pytest.raises(LedgerPrecisionError, match="exact arithmetic failed"):
            ledger.apply(fill)
        assert getcontext() is current
    assert (ledger.cash, ledger.equity, ledger.fills, ledger.lots("AAPL")) == (START, START, (), ())
    assert not isinstance(LedgerPrecisionError("x"), DecimalException)
