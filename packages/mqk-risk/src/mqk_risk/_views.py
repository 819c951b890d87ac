"""What the risk engine reads (a read-only portfolio view) and what it hands back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from mqk_schemas import Decision, TargetPosition

__all__ = ["PortfolioView", "RiskContext", "RiskReport", "SessionOf"]

SessionOf = Callable[[datetime], date]
"""Maps a UTC timestamp to the trading session (a date) it belongs to."""


class PortfolioView(Protocol):
    """The read-only slice of one engine's ledger the risk engine needs.

    The ledger satisfies it structurally; nothing here is ever mutated by the risk engine.
    """

    @property
    def equity(self) -> Decimal:
        """Cash plus marked positions."""
        ...

    @property
    def gross_exposure(self) -> Decimal:
        """Sum over symbols of ``|quantity| * mark``."""
        ...

    def position(self, symbol: str) -> Decimal:
        """Signed quantity held in ``symbol`` (negative is short, 0 when flat)."""
        ...

    def positions(self) -> Mapping[str, Decimal]:
        """Signed quantity of every symbol held (flat symbols may be omitted)."""
        ...


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Everything :meth:`RiskEngine.check` needs besides the intent.

    ``price`` values a MARKET order (the caller's reference price, with any worst-case buffer
    already applied; required for MARKET orders); LIMIT and STOP orders are valued at their own
    limit / stop price. ``session`` is the trading session of ``ts`` when the caller already
    knows it; otherwise the engine's ``session_of(ts)`` decides. ``pending_same_side`` is the
    unfilled quantity of the engine's other open (non-protective) orders on the intent's side in
    its symbol: reduce-ness and the limits assume they fill too.
    """

    ts: datetime
    portfolio: PortfolioView
    price: Decimal | None
    session: date | None = None
    pending_same_side: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class RiskReport:
    """Result of :meth:`RiskEngine.evaluate`: new breaches and the flatten targets to execute.

    ``flatten`` holds a zero :class:`~mqk_schemas.TargetPosition` per open position while a
    FLATTEN_AND_HALT switch is tripped (and the engine is not disarmed); the caller turns them
    into orders through the normal path, where they pass the halt as risk-reducing.
    """

    decisions: tuple[Decision, ...] = ()
    flatten: tuple[TargetPosition, ...] = ()

    def __bool__(self) -> bool:
        """True when there is anything to record or execute."""
        return bool(self.decisions or self.flatten)
