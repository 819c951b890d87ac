"""Shared builders for the integrity tests: settings, bars and small CSV files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mqk_integrity import IntegritySettings, OutlierPolicy
from mqk_schemas import Bar, Timeframe

CSV_HEADER = "ts_close_utc,open,high,low,close,volume"

SettingsFactory = Callable[..., IntegritySettings]
BarFactory = Callable[..., Bar]
CsvFactory = Callable[..., Path]


@pytest.fixture
def make_settings() -> SettingsFactory:
    """Settings with the shipped values, any field overridable."""

    def build(**overrides: object) -> IntegritySettings:
        fields: dict[str, object] = {
            "calendar": "XNYS",
            "gap_tolerance_bars": 0,
            "stale_feed_seconds": 300,
            "feed_disagreement_bps": Decimal(50),
            "outlier_move_fraction": Decimal("0.2"),
            "outlier_policy": OutlierPolicy.FLAG,
        }
        fields.update(overrides)
        return IntegritySettings.model_validate(fields)

    return build


@pytest.fixture
def make_bar() -> BarFactory:
    """A well-formed bar around ``close`` (open = close, high/low one unit away)."""

    def build(
        ts: datetime,
        close: str = "100",
        *,
        symbol: str = "AAPL",
        timeframe: Timeframe = Timeframe.D1,
        open_: str | None = None,
        high: str | None = None,
        low: str | None = None,
        volume: str = "1000",
        is_complete: bool = True,
    ) -> Bar:
        c = Decimal(close)
        o = Decimal(open_) if open_ is not None else c
        return Bar(
            symbol=symbol,
            timeframe=timeframe,
            ts_close_utc=ts,
            open=o,
            high=Decimal(high) if high is not None else max(o, c) + 1,
            low=Decimal(low) if low is not None else min(o, c) - 1,
            close=c,
            volume=Decimal(volume),
            is_complete=is_complete,
        )

    return build


@pytest.fixture
def write_csv(tmp_path: Path) -> CsvFactory:
    """Write ``rows`` (already comma-joined) under ``header`` to ``tmp_path/name``."""

    def build(rows: list[str], name: str = "bars.csv", header: str = CSV_HEADER) -> Path:
        path = tmp_path / name
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return path

    return build
