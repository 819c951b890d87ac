"""The small read-only views the gateway depends on, and the context it hands to checks.

The gateway does not import the concrete ledger, risk engine, isolation or integrity gate: it
depends on these Protocols, which those packages satisfy structurally or through a thin adapter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from mqk_schemas import Decision, OrderIntent, Side

__all__ = [
    "AllocationCheck",
    "BarLike",
    "Clock",
    "IntegrityView",
    "PositionView",
    "PreTradeContext",
    "RiskCheck",
]

Clock = Callable[[], datetime]
"""Returns the current (real or simulated) UTC time; components never read the wall clock."""


class PositionView(Protocol):
    """Read-only signed positions of one engine (the fill-driven ledger)."""

    def position(self, symbol: str) -> Decimal:
        """Signed quantity held in ``symbol`` (0 when flat)."""
        ...


class IntegrityView(Protocol):
    """The data-integrity state for new orders in a symbol (sticky halts/disarms included)."""

    def integrity_decision(self, symbol: str) -> Decision:
        """ALLOW, or the HALT_NEW/DISARM/REJECT decision that currently applies to ``symbol``."""
        ...


@dataclass(frozen=True, slots=True)
class PreTradeContext:
    """What the gateway knows about an order when it asks risk and isolation.

    ``position`` is the engine's current signed position in the symbol, ``pending_same_side`` the
    unfilled quantity of the engine's other open (non-protective) orders on the same side, and
    ``reducing`` the gateway's own verdict: the order (with those pending orders) can only bring
    the position towards zero. ``reference_price`` is the caller's last price for the symbol
    (the limit/stop price is on the intent itself). ``session`` is the trading session of
    ``ts_utc`` when the caller already knows it (saves the risk engine a calendar lookup).
    """

    engine_id: str
    run_id: uuid.UUID
    ts_utc: datetime
    symbol: str
    side: Side
    quantity: Decimal
    position: Decimal
    pending_same_side: Decimal
    reducing: bool
    reference_price: Decimal | None
    session: date | None = None


class RiskCheck(Protocol):
    """Pre-trade risk decision for one intent."""

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        """ALLOW, or a REJECT/HALT_NEW/FLATTEN_AND_HALT/DISARM decision with evidence."""
        ...


class AllocationCheck(Protocol):
    """Engine allocation cap decision for one risk-increasing intent."""

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        """ALLOW, or REJECT (e.g. ENGINE_CAP_EXCEEDED) with evidence."""
        ...


class BarLike(Protocol):
    """The fields of a bar the SimBroker reads; :class:`mqk_schemas.Bar` satisfies it, and so
    does any light record (a NamedTuple or slotted dataclass) a fast backtest loop builds."""

    @property
    def symbol(self) -> str: ...
    @property
    def ts_close_utc(self) -> datetime: ...
    @property
    def open(self) -> Decimal: ...
    @property
    def high(self) -> Decimal: ...
    @property
    def low(self) -> Decimal: ...
    @property
    def close(self) -> Decimal: ...
