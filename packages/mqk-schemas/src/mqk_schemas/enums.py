"""Closed vocabularies shared by every package."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

__all__ = [
    "Action",
    "OrderStatus",
    "OrderType",
    "RunMode",
    "RunStatus",
    "Side",
    "TimeInForce",
    "Timeframe",
    "Topic",
]


class Side(StrEnum):
    """Order or fill direction."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """How an order is priced."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class TimeInForce(StrEnum):
    """How long an order rests."""

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"


class OrderStatus(StrEnum):
    """OMS order states (SPEC section 6)."""

    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        """True for FILLED, CANCELED and REJECTED."""
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


class RunMode(StrEnum):
    """What a run trades against."""

    BACKTEST = "BACKTEST"
    PAPER = "PAPER"
    LIVE = "LIVE"


class RunStatus(StrEnum):
    """Run lifecycle states (SPEC section 11)."""

    CREATED = "CREATED"
    ARMED = "ARMED"
    RUNNING = "RUNNING"
    HALTED = "HALTED"
    STOPPED = "STOPPED"


class Action(StrEnum):
    """What a gate decided, from mildest to most severe."""

    ALLOW = "ALLOW"
    REJECT = "REJECT"
    HALT_NEW = "HALT_NEW"
    FLATTEN_AND_HALT = "FLATTEN_AND_HALT"
    DISARM = "DISARM"

    @property
    def severity(self) -> int:
        """Rank used to combine decisions: the most severe one wins."""
        return _SEVERITY[self]


_SEVERITY = {
    Action.ALLOW: 0,
    Action.REJECT: 1,
    Action.HALT_NEW: 2,
    Action.FLATTEN_AND_HALT: 3,
    Action.DISARM: 4,
}


class Topic(StrEnum):
    """Event topics of the envelope."""

    MARKET = "MARKET"
    STRATEGY = "STRATEGY"
    OMS = "OMS"
    RISK = "RISK"
    BROKER = "BROKER"
    LEDGER = "LEDGER"
    RECON = "RECON"
    RUNTIME = "RUNTIME"
    AUDIT = "AUDIT"


class Timeframe(StrEnum):
    """Bar timeframes; a bar is identified by its close time."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def duration(self) -> timedelta:
        """Length of one bar."""
        return _DURATIONS[self]

    @property
    def is_intraday(self) -> bool:
        """True for every timeframe shorter than a day."""
        return self is not Timeframe.D1


_DURATIONS = {
    Timeframe.M1: timedelta(minutes=1),
    Timeframe.M5: timedelta(minutes=5),
    Timeframe.M15: timedelta(minutes=15),
    Timeframe.M30: timedelta(minutes=30),
    Timeframe.H1: timedelta(hours=1),
    Timeframe.H4: timedelta(hours=4),
    Timeframe.D1: timedelta(days=1),
}
