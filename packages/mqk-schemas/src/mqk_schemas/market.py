"""Market data: instruments and bars (row form)."""

from __future__ import annotations

from pydantic import Field

from mqk_schemas._base import FrozenModel
from mqk_schemas.enums import Timeframe
from mqk_schemas.identity import Symbol
from mqk_schemas.types import NonNegativeDecimal, PositiveDecimal, UtcDatetime

__all__ = ["Bar", "Instrument"]


class Instrument(FrozenModel):
    """A tradable instrument and the exchange calendar its sessions follow."""

    symbol: Symbol
    calendar: str = Field(min_length=1, description="exchange_calendars code, or '24/7'")
    tick_size: PositiveDecimal
    asset_class: str = Field(pattern=r"^(EQUITY|CRYPTO|FUTURE|FX)$")


class Bar(FrozenModel):
    """One OHLCV bar, identified by its close time ``ts_close_utc``.

    Types are checked here (exact prices, UTC time); the OHLC relationships and the sequence
    rules are the integrity gate's job, so that a bad bar becomes a typed decision there.
    """

    symbol: Symbol
    timeframe: Timeframe
    ts_close_utc: UtcDatetime
    open: PositiveDecimal
    high: PositiveDecimal
    low: PositiveDecimal
    close: PositiveDecimal
    volume: NonNegativeDecimal
    is_complete: bool = True
