"""Trading models refuse inconsistent orders, targets and frames."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from pydantic import ValidationError

from mqk_schemas import (
    BAR_FRAME_SCHEMA,
    Bar,
    BarFrame,
    BarFrameSchemaError,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
    TargetPosition,
    Timeframe,
    TimeInForce,
    client_order_id,
    trusted,
)

RUN = uuid.UUID("12345678-1234-4234-8234-123456789abc")
COID = client_order_id("MAIN", RUN, 1)
INTENT = {
    "engine_id": "MAIN",
    "intent_seq": 1,
    "client_order_id": COID,
    "symbol": "AAPL",
    "side": "BUY",
    "quantity": "10",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"client_order_id": "EXP_123_1"}, "outside engine MAIN"),
        ({"order_type": "LIMIT"}, "LIMIT order needs limit_price"),
        ({"order_type": "STOP", "limit_price": "1"}, "STOP order needs stop_price"),
        ({"limit_price": "1"}, "MARKET order has neither"),
        ({"quantity": "0"}, "must be > 0"),
        ({"quantity": "-5"}, "must be > 0"),
        ({"engine_id": "main"}, "String should match pattern"),
    ],
)
def unit_inconsistent_intents_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OrderIntent(**{**INTENT, **changes})


def unit_target_sets_exactly_one_of_quantity_or_notional() -> None:
    assert TargetPosition(symbol="AAPL", quantity="-5").quantity == Decimal(-5)
    for kwargs in ({}, {"quantity": "1", "notional": "100"}):
        with pytest.raises(ValidationError, match="exactly one"):
            TargetPosition(symbol="AAPL", **kwargs)


def unit_order_cannot_be_filled_beyond_its_quantity() -> None:
    now = datetime(2024, 3, 4, tzinfo=UTC)
    base = {
        "client_order_id": COID,
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": "10",
        "order_type": "MARKET",
        "status": OrderStatus.PARTIALLY_FILLED,
        "filled_quantity": "4",
        "created_at": now,
        "updated_at": now,
    }
    assert Order(**base).remaining_quantity == Decimal(6)
    with pytest.raises(ValidationError, match="filled 11 > quantity 10"):
        Order(**{**base, "filled_quantity": "11"})


def _bar(day: int) -> Bar:
    return Bar(
        symbol="AAPL",
        timeframe=Timeframe.D1,
        ts_close_utc=datetime(2024, 3, day, 21, tzinfo=UTC),
        open="100.5",
        high="101.25",
        low="99.75",
        close="101",
        volume="1200",
    )


def unit_bar_frame_round_trips_rows_exactly() -> None:
    bars = [_bar(4), _bar(5)]
    frame = BarFrame.from_bars(Timeframe.D1, bars)
    assert len(frame) == 2
    assert frame.symbols == ("AAPL",)
    assert frame.to_bars() == bars


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.drop("volume"), "columns"),
        (lambda df: df.with_columns(pl.col("close").cast(pl.Float64)), "'close' is Float64"),
        (lambda df: df.select(list(reversed(df.columns))), "columns"),
        (
            lambda df: df.with_columns(pl.lit(None, dtype=BAR_FRAME_SCHEMA["open"]).alias("open")),
            "nulls in columns ['open']",
        ),
    ],
)
def unit_bar_frame_refuses_a_foreign_schema(mutate: Any, message: str) -> None:
    good = BarFrame.from_bars(Timeframe.D1, [_bar(4)]).frame
    with pytest.raises(BarFrameSchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
        BarFrame(Timeframe.D1, mutate(good))


def unit_bar_frame_refuses_bars_of_another_timeframe() -> None:
    with pytest.raises(BarFrameSchemaError, match="is 1d, not 1h"):
        BarFrame.from_bars(Timeframe.H1, [_bar(4)])


_TS = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("model", "values"),
    [
        pytest.param(
            Fill,
            {
                "broker_fill_id": "MAIN_abc_00000001-F1",
                "client_order_id": "MAIN_abc_00000001",
                "engine_id": "MAIN",
                "symbol": "AAPL",
                "side": Side.BUY,
                "quantity": Decimal(100),
                "price": Decimal("99.99"),
                "fee": Decimal("1.25"),
                "ts_utc": _TS,
            },
            id="fill",
        ),
        pytest.param(
            Order,
            {
                "client_order_id": "MAIN_abc_00000001",
                "engine_id": "MAIN",
                "symbol": "AAPL",
                "side": Side.SELL,
                "quantity": Decimal(100),
                "order_type": OrderType.MARKET,
                "limit_price": None,
                "stop_price": None,
                "time_in_force": TimeInForce.GTC,
                "status": OrderStatus.FILLED,
                "filled_quantity": Decimal(100),
                "average_fill_price": Decimal("99.99"),
                "broker_order_id": "SIM-00000001",
                "replaces": None,
                "created_at": _TS,
                "updated_at": _TS,
            },
            id="order",
        ),
        pytest.param(
            OrderIntent,
            {
                "engine_id": "MAIN",
                "intent_seq": 1,
                "client_order_id": "MAIN_abc_00000001",
                "symbol": "AAPL",
                "side": Side.BUY,
                "quantity": Decimal(5),
                "order_type": OrderType.MARKET,
                "limit_price": None,
                "stop_price": None,
                "time_in_force": TimeInForce.GTC,
                "reduce_only": False,
                "shadow": False,
            },
            id="intent",
        ),
    ],
)
def invariant_trusted_models_equal_validated_ones(model: Any, values: dict[str, Any]) -> None:
    built = trusted(model, dict(values))
    validated = model(**values)
    assert built == validated
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump_json() == validated.model_dump_json()
    assert hash(built) == hash(validated)
    with pytest.raises(ValidationError):
        built.side = Side.SELL  # still frozen


def invariant_trusted_frozen_models_share_one_fields_set_safely() -> None:
    values = {
        "broker_fill_id": "F1",
        "client_order_id": "MAIN_abc_00000001",
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": Decimal(5),
        "price": Decimal("10.5"),
        "fee": Decimal(0),
        "ts_utc": _TS,
    }
    first, second = trusted(Fill, dict(values)), trusted(Fill, dict(values))
    assert first.model_fields_set is second.model_fields_set  # shared, not one per fill
    assert first.model_fields_set == Fill(**values).model_fields_set == set(values)
    changed = first.model_copy(update={"price": Decimal(11)})
    assert changed.price == Decimal(11)
    assert changed.model_fields_set is not first.model_fields_set  # copied, not mutated
    assert first.model_fields_set == second.model_fields_set == set(values)
    assert (first.price, second.price) == (Decimal("10.5"), Decimal("10.5"))


def fault_trusted_models_need_every_field() -> None:
    message = r"Fill: missing fields \['client_order_id', .*'ts_utc'\], unknown fields \['x'\]"
    with pytest.raises(TypeError, match=message):
        trusted(Fill, {"broker_fill_id": "F", "x": 1})
