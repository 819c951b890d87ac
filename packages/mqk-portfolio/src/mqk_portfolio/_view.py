"""What other packages may read of a ledger: the :class:`PortfolioView` Protocol."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol, runtime_checkable

__all__ = ["PortfolioView"]


@runtime_checkable
class PortfolioView(Protocol):
    """What other packages may read of one engine's ledger (and nothing they may change).

    ``EngineLedger`` and ``LedgerView`` satisfy it; it is a superset of the views mqk-risk
    (``PortfolioView``), mqk-isolation (``ExposureView``) and mqk-execution (``PositionView``)
    declare for themselves.
    """

    @property
    def engine_id(self) -> str:
        """The engine the positions belong to."""
        ...

    @property
    def cash(self) -> Decimal:
        """Cash after fills and fees."""
        ...

    @property
    def equity(self) -> Decimal:
        """Cash plus marked positions."""
        ...

    @property
    def peak_equity(self) -> Decimal:
        """Highest equity seen."""
        ...

    @property
    def drawdown(self) -> Decimal:
        """Peak minus current equity."""
        ...

    @property
    def gross_exposure(self) -> Decimal:
        """Sum of ``|quantity * mark|``."""
        ...

    @property
    def net_exposure(self) -> Decimal:
        """Sum of ``quantity * mark``."""
        ...

    @property
    def leverage(self) -> Decimal:
        """Gross exposure over equity."""
        ...

    def position(self, symbol: str) -> Decimal:
        """Signed quantity in ``symbol`` (0 when flat)."""
        ...

    def positions(self) -> Mapping[str, Decimal]:
        """Signed quantity per held symbol."""
        ...

    def mark_price(self, symbol: str) -> Decimal | None:
        """The price ``symbol`` is valued at, if any."""
        ...
