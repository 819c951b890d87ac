"""Shared fixtures for mqk-strategy tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mqk_schemas import Bar, Timeframe
from mqk_strategy import HostSettings

START = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)

BarFactory = Callable[..., Bar]


@pytest.fixture
def make_bar() -> BarFactory:
    """Build a daily bar ``index`` days after START with close ``close`` (o=h=l=close)."""

    def build(
        index: int,
        close: str | int,
        *,
        symbol: str = "AAPL",
        timeframe: Timeframe = Timeframe.D1,
        complete: bool = True,
        high: str | int | None = None,
        low: str | int | None = None,
    ) -> Bar:
        price = Decimal(close)
        return Bar(
            symbol=symbol,
            timeframe=timeframe,
            ts_close_utc=START + timedelta(days=index),
            open=price,
            high=Decimal(high) if high is not None else price,
            low=Decimal(low) if low is not None else price,
            close=price,
            volume=Decimal(1000),
            is_complete=complete,
        )

    return build


@pytest.fixture
def main_settings() -> HostSettings:
    """MAIN engine rules: one strategy, one timeframe, not shadow."""
    return HostSettings(engine_id="MAIN", max_strategies=1, max_timeframes=1, shadow=False)
