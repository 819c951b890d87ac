"""A read-only window onto a ledger for risk, isolation and execution."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from mqk_portfolio._ledger import EngineLedger
from mqk_schemas import Position

__all__ = ["LedgerView"]


class LedgerView:
    """A read-only window onto an :class:`EngineLedger`: no apply, no mark, no lots to edit."""

    __slots__ = ("_ledger",)

    def __init__(self, ledger: EngineLedger) -> None:
        self._ledger = ledger

    @property
    def engine_id(self) -> str:
        """The engine the positions belong to."""
        return self._ledger.engine_id

    @property
    def cash(self) -> Decimal:
        """Cash after fills and fees."""
        return self._ledger.cash

    @property
    def equity(self) -> Decimal:
        """Cash plus marked positions."""
        return self._ledger.equity

    @property
    def peak_equity(self) -> Decimal:
        """Highest equity seen."""
        return self._ledger.peak_equity

    @property
    def drawdown(self) -> Decimal:
        """Peak minus current equity."""
        return self._ledger.drawdown

    @property
    def gross_exposure(self) -> Decimal:
        """Sum of ``|quantity * mark|``."""
        return self._ledger.gross_exposure

    @property
    def net_exposure(self) -> Decimal:
        """Sum of ``quantity * mark``."""
        return self._ledger.net_exposure

    @property
    def leverage(self) -> Decimal:
        """Gross exposure over equity."""
        return self._ledger.leverage

    def position(self, symbol: str) -> Decimal:
        """Signed quantity in ``symbol`` (0 when flat)."""
        return self._ledger.position(symbol)

    def positions(self) -> Mapping[str, Decimal]:
        """Signed quantity per held symbol (a fresh dict)."""
        return self._ledger.positions()

    def mark_price(self, symbol: str) -> Decimal | None:
        """The price ``symbol`` is valued at, if any."""
        return self._ledger.mark_price(symbol)

    def open_positions(self) -> tuple[Position, ...]:
        """Held positions with average prices."""
        return self._ledger.open_positions()
