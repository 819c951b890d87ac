"""The fill-driven ledger of one engine: FIFO lots, cash, PnL, equity, exposure.

All money is exact: every sum and product runs in a Decimal context that raises rather than
rounds. Marking is O(1) per symbol: each symbol keeps its market value, and the ledger keeps
running totals of net market value and of open cost basis, so equity is ``cash + net``
without touching lots (gross exposure is summed over symbols when read).

Identity kept after every step (tested): ``cash + open cost basis - realised PnL + fees ==
starting cash``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, DecimalException, getcontext, setcontext
from typing import Any, Final

from mqk_portfolio._book import Lot, SymbolBook, signed_quantity
from mqk_portfolio._exact import exact_context, ratio_context, require_decimal
from mqk_portfolio._results import FillResult, FillStatus, new_fill_result
from mqk_portfolio._state import LedgerState, PositionState
from mqk_portfolio.errors import (
    FillConflictError,
    ForeignFillError,
    InvalidMarkError,
    LedgerInputError,
    LedgerPrecisionError,
)
from mqk_schemas import ENGINE_ID_PATTERN, Action, Decision, Fill, Position, format_decimal

__all__ = ["EngineLedger"]

_ZERO: Final = Decimal(0)
_INFINITY: Final = Decimal("Infinity")
_ENGINE: Final = re.compile(ENGINE_ID_PATTERN)
_APPLIED: Final = FillStatus.APPLIED


class EngineLedger:
    """One engine's positions and cash, driven only by that engine's fills.

    Fills are deduplicated by ``broker_fill_id``: the same fill again is ignored and reported;
    a different fill reusing the id raises :class:`FillConflictError` and changes nothing.
    Marks come from prices handed in; a symbol first traded without a mark is marked at its
    fill price. Peak equity is the highest equity seen after any fill or mark (so it depends
    on the mark history, not only on the fills).
    """

    def __init__(self, engine_id: str, starting_cash: Decimal) -> None:
        if not isinstance(engine_id, str) or not _ENGINE.match(engine_id):
            raise LedgerInputError(f"engine_id {engine_id!r} is not an upper-case engine token")
        self._engine = engine_id
        self._ctx = exact_context()
        self._ratio = ratio_context()
        self._starting_cash = require_decimal(starting_cash, "starting_cash")
        self._cash = self._starting_cash
        self._realised = _ZERO
        self._fees = _ZERO
        self._cost = _ZERO
        self._net = _ZERO
        self._peak = self._starting_cash
        self._equity: Decimal | None = self._starting_cash  # cash + net; None when stale
        self._gross: Decimal | None = _ZERO  # sum of |market value|; None when stale
        self._books: dict[str, SymbolBook] = {}
        self._marks: dict[str, Decimal] = {}
        self._fills: dict[str, Fill] = {}
        self._duplicates = 0

    @classmethod
    def replay(cls, engine_id: str, starting_cash: Decimal, fills: Iterable[Fill]) -> EngineLedger:
        """A new ledger that applied ``fills`` in order (duplicates ignored as usual)."""
        ledger = cls(engine_id, starting_cash)
        for fill in fills:
            ledger.apply(fill)
        return ledger

    # -- fills -----------------------------------------------------------------------------

    def apply(self, fill: Fill) -> FillResult:
        """Apply one fill: FIFO lots, realised PnL, fee to cash, exposure; or report a duplicate."""
        if not isinstance(fill, Fill):
            raise LedgerInputError(f"expected a mqk_schemas.Fill, got {type(fill).__name__}")
        if fill.engine_id != self._engine:
            raise ForeignFillError(
                f"fill {fill.broker_fill_id} belongs to engine {fill.engine_id}, not "
                f"{self._engine}; an engine's ledger applies only its own fills"
            )
        fill_id = fill.broker_fill_id
        known = self._fills.get(fill_id)
        if known is not None:
            return self._duplicate(known, fill)
        symbol = fill.symbol
        book = self._books.get(symbol)
        if book is None:
            book = SymbolBook(symbol)
        price, fee = fill.price, fill.fee
        saved = getcontext()
        setcontext(self._ctx)  # the operators below run exact (any rounding raises)
        try:
            try:
                plan = book.plan(fill)
                quantity, realised = plan[3], plan[5]
                mark = self._marks.get(symbol, price)
                value = quantity * mark
                signed = signed_quantity(fill)
                cash = self._cash - signed * price - fee
                net = self._net - book.market_value + value
                cost = self._cost + plan[4]
                total_realised = self._realised + realised
                fees = self._fees + fee
                book.commit(plan, fee)
            except DecimalException as error:
                raise LedgerPrecisionError(
                    f"fill {fill_id}: exact arithmetic failed ({type(error).__name__})"
                ) from None
            book.market_value = value
            self._books[symbol] = book
            self._marks[symbol] = mark
            self._cash, self._net = cash, net
            self._cost, self._realised, self._fees = cost, total_realised, fees
            self._fills[fill_id] = fill
            self._gross = None
            self._equity = None
            equity = self._equity = cash + net
        finally:
            setcontext(saved)
        if equity > self._peak:
            self._peak = equity
        return new_fill_result(_APPLIED, fill, realised, quantity)

    def apply_all(self, fills: Iterable[Fill]) -> list[FillResult]:
        """Apply fills in order; stops at the first refused fill (earlier ones stay applied)."""
        return [self.apply(fill) for fill in fills]

    def _duplicate(self, known: Fill, fill: Fill) -> FillResult:
        if known != fill:
            changed = sorted(
                name for name in Fill.model_fields if getattr(known, name) != getattr(fill, name)
            )
            raise FillConflictError(
                f"broker_fill_id {fill.broker_fill_id} was applied already with different "
                f"{', '.join(changed)}; refusing the second version"
            )
        self._duplicates += 1
        book = self._books[fill.symbol]
        decision = Decision(
            action=Action.REJECT,
            reason_code="FILL_DUPLICATE",
            message=f"fill {fill.broker_fill_id} was applied already; ignored",
            evidence={
                "engine_id": self._engine,
                "broker_fill_id": fill.broker_fill_id,
                "client_order_id": fill.client_order_id,
                "symbol": fill.symbol,
            },
        )
        return FillResult(FillStatus.DUPLICATE, fill, _ZERO, book.quantity, decision)

    # -- marks -----------------------------------------------------------------------------

    def mark(self, symbol: str, price: Decimal) -> None:
        """Value ``symbol`` at ``price`` from now on (O(1): a few Decimal operations)."""
        if type(price) is not Decimal or not price.is_finite() or price <= 0:
            price = _mark_price(symbol, price)
        self._mark_checked(((symbol, price),))

    def mark_all(self, prices: Mapping[str, Decimal]) -> None:
        """Mark several symbols at once; a bad price refuses the whole call, changing nothing."""
        for price in prices.values():
            if type(price) is not Decimal or not price.is_finite() or price <= _ZERO:
                break
        else:  # every price is a valid Decimal already (the usual case): nothing to convert
            self._mark_checked(prices.items())
            return
        self._mark_checked(
            [(symbol, _mark_price(symbol, price)) for symbol, price in prices.items()]
        )

    def _mark_checked(self, prices: Iterable[tuple[str, Decimal]]) -> None:
        """Mark each symbol at its (valid) price, then raise the peak."""
        saved = getcontext()
        setcontext(self._ctx)  # the operators below run exact (any rounding raises)
        try:
            for symbol, price in prices:
                self._mark(symbol, price)
        finally:
            setcontext(saved)
        self._raise_peak()

    def _mark(self, symbol: str, price: Decimal) -> None:
        """Mark ``symbol`` at ``price``; the caller has made the exact context current."""
        self._marks[symbol] = price
        book = self._books.get(symbol)
        if book is None or not book.quantity:
            return
        try:
            value = book.quantity * price
            self._net = self._net + (value - book.market_value)
        except DecimalException as error:
            raise LedgerPrecisionError(
                f"mark {symbol} at {price}: exact arithmetic failed ({type(error).__name__})"
            ) from None
        book.market_value = value
        self._gross = None
        self._equity = None

    def _raise_peak(self) -> None:
        equity = self._equity
        if equity is None:
            equity = self._equity = self._ctx.add(self._cash, self._net)
        if equity > self._peak:
            self._peak = equity

    # -- read side -------------------------------------------------------------------------

    @property
    def engine_id(self) -> str:
        """The engine whose fills this ledger applies."""
        return self._engine

    @property
    def starting_cash(self) -> Decimal:
        """Cash before any fill."""
        return self._starting_cash

    @property
    def cash(self) -> Decimal:
        """Starting cash minus buys, plus sells, minus fees."""
        return self._cash

    @property
    def equity(self) -> Decimal:
        """Cash plus every position at its mark."""
        equity = self._equity
        if equity is None:
            equity = self._equity = self._ctx.add(self._cash, self._net)
        return equity

    @property
    def realised_pnl(self) -> Decimal:
        """PnL of closed lots, gross of fees."""
        return self._realised

    @property
    def unrealised_pnl(self) -> Decimal:
        """Marked value of open lots minus their cost basis."""
        return self._ctx.subtract(self._net, self._cost)

    @property
    def fees(self) -> Decimal:
        """Every fee paid (already taken from cash)."""
        return self._fees

    @property
    def cost_basis(self) -> Decimal:
        """Signed cost of all open lots (short lots count negative)."""
        return self._cost

    @property
    def peak_equity(self) -> Decimal:
        """Highest equity seen (starting cash at first)."""
        return self._peak

    @property
    def drawdown(self) -> Decimal:
        """Peak equity minus current equity (exact, >= 0)."""
        return self._ctx.subtract(self._peak, self.equity)

    @property
    def drawdown_fraction(self) -> Decimal:
        """Drawdown over peak equity (a derived ratio, 28 significant digits; 0 if peak <= 0)."""
        if self._peak <= 0:
            return _ZERO
        return self._ratio.divide(self.drawdown, self._peak)

    @property
    def gross_exposure(self) -> Decimal:
        """Sum over symbols of ``|quantity * mark|`` (O(symbols traded) after a fill or mark)."""
        gross = self._gross
        if gross is None:
            gross = _ZERO
            for book in self._books.values():
                if book.market_value:
                    gross = self._ctx.add(gross, book.market_value.copy_abs())
            self._gross = gross
        return gross

    @property
    def net_exposure(self) -> Decimal:
        """Sum over symbols of ``quantity * mark`` (shorts negative)."""
        return self._net

    @property
    def leverage(self) -> Decimal:
        """Gross exposure over equity (28 digits); Infinity when exposed with equity <= 0."""
        gross = self.gross_exposure
        if not gross:
            return _ZERO
        equity = self.equity
        if equity <= 0:
            return _INFINITY
        return self._ratio.divide(gross, equity)

    @property
    def duplicates_ignored(self) -> int:
        """How many duplicate fills were ignored."""
        return self._duplicates

    @property
    def fills(self) -> tuple[Fill, ...]:
        """Applied fills, in the order they were applied."""
        return tuple(self._fills.values())

    def has_fill(self, broker_fill_id: str) -> bool:
        """True when a fill with this id was applied."""
        return broker_fill_id in self._fills

    def position(self, symbol: str) -> Decimal:
        """Signed quantity held in ``symbol`` (0 when flat or never traded)."""
        book = self._books.get(symbol)
        return book.quantity if book is not None else _ZERO

    def positions(self) -> dict[str, Decimal]:
        """Signed quantity of every symbol held (flat symbols omitted), sorted by symbol."""
        return {s: b.quantity for s, b in sorted(self._books.items()) if b.quantity}

    def mark_price(self, symbol: str) -> Decimal | None:
        """The price ``symbol`` is valued at, if it has one."""
        return self._marks.get(symbol)

    def lots(self, symbol: str) -> tuple[Lot, ...]:
        """Open lots of ``symbol``, oldest first."""
        book = self._books.get(symbol)
        return tuple(book.lots) if book is not None else ()

    def open_positions(self) -> tuple[Position, ...]:
        """Held positions as :class:`mqk_schemas.Position` (average price to 28 digits)."""
        result = []
        for symbol, book in sorted(self._books.items()):
            if book.quantity:
                average = self._ratio.divide(book.cost_basis.copy_abs(), book.quantity.copy_abs())
                result.append(
                    Position(symbol=symbol, quantity=book.quantity, average_price=average)
                )
        return tuple(result)

    def snapshot(self) -> LedgerState:
        """Everything derived from the fills, as an immutable, comparable value."""
        return LedgerState(
            engine_id=self._engine,
            starting_cash=self._starting_cash,
            cash=self._cash,
            realised_pnl=self._realised,
            fees=self._fees,
            positions=tuple(
                PositionState(
                    symbol=symbol,
                    quantity=book.quantity,
                    cost_basis=book.cost_basis,
                    realised_pnl=book.realised_pnl,
                    fees=book.fees,
                    lots=tuple(book.lots),
                )
                for symbol, book in sorted(self._books.items())
            ),
            fill_ids=tuple(self._fills),
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready headline numbers (exact decimals as strings)."""
        return {
            "engine_id": self._engine,
            "cash": format_decimal(self._cash),
            "equity": format_decimal(self.equity),
            "realised_pnl": format_decimal(self._realised),
            "unrealised_pnl": format_decimal(self.unrealised_pnl),
            "fees": format_decimal(self._fees),
            "peak_equity": format_decimal(self._peak),
            "drawdown": format_decimal(self.drawdown),
            "gross_exposure": format_decimal(self.gross_exposure),
            "net_exposure": format_decimal(self._net),
            "positions": {s: format_decimal(q) for s, q in self.positions().items()},
        }


def _mark_price(symbol: str, price: Any) -> Decimal:
    try:
        value = require_decimal(price, f"mark {symbol}")
    except LedgerInputError as error:
        raise InvalidMarkError(str(error)) from None
    if value <= 0:
        raise InvalidMarkError(f"mark {symbol}: {value} must be > 0")
    return value
