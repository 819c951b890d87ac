"""Shared helpers for mqk-portfolio tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mqk_schemas import Fill, Side

START = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)

FillFactory = Callable[..., Fill]


@pytest.fixture
def make_fill() -> FillFactory:
    """Build a MAIN fill: ``make_fill("f1", "BUY", "10", "100.5", fee="1")``."""
    counter = iter(range(1_000_000))

    def build(
        fill_id: str,
        side: str,
        quantity: str | int,
        price: str | int,
        *,
        symbol: str = "AAPL",
        fee: str | int = 0,
        engine_id: str = "MAIN",
    ) -> Fill:
        return Fill(
            broker_fill_id=fill_id,
            client_order_id=f"{engine_id}_abc_{fill_id}",
            engine_id=engine_id,
            symbol=symbol,
            side=Side(side),
            quantity=Decimal(quantity),
            price=Decimal(price),
            fee=Decimal(fee),
            ts_utc=START + timedelta(minutes=next(counter)),
        )

    return build
