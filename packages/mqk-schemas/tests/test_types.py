"""Exact money and UTC time: the primitives every other package relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mqk_schemas import (
    Bar,
    ExactnessError,
    Fill,
    NaiveDatetimeError,
    Side,
    canonical_json,
    format_decimal,
    format_utc,
    to_decimal,
    to_utc,
)

BAR = {
    "symbol": "AAPL",
    "timeframe": "1d",
    "ts_close_utc": "2024-03-04T21:00:00Z",
    "open": "100.5",
    "high": "101.25",
    "low": "99.75",
    "close": "101",
    "volume": 1200,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("101.25", Decimal("101.25")),
        (101, Decimal(101)),
        (Decimal("0.1"), Decimal("0.1")),
        (" 7.50 ", Decimal("7.50")),
    ],
)
def unit_exact_inputs_convert_without_loss(value: Any, expected: Decimal) -> None:
    result = to_decimal(value)
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), True, "NaN", "inf", "abc", None, [1]])
def unit_float_nan_and_non_numbers_are_refused_as_money(value: Any) -> None:
    with pytest.raises(ExactnessError):
        to_decimal(value)


@pytest.mark.parametrize("field", ["open", "high", "low", "close", "volume"])
def unit_bar_refuses_float_prices(field: str) -> None:
    with pytest.raises(ValidationError, match="binary float"):
        Bar(**{**BAR, field: 101.5})


def unit_fill_refuses_float_price_and_fee() -> None:
    base = {
        "broker_fill_id": "F1",
        "client_order_id": "MAIN_abc_00000001",
        "engine_id": "MAIN",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": "10",
        "price": "100.10",
        "ts_utc": "2024-03-04T21:00:00Z",
    }
    assert Fill(**base).price == Decimal("100.10")
    for field in ("price", "fee", "quantity"):
        with pytest.raises(ValidationError, match="binary float"):
            Fill(**{**base, field: 0.1})


def unit_naive_datetime_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        to_utc(datetime(2024, 3, 4, 21, 0))
    with pytest.raises(ValidationError, match="no timezone"):
        Bar(**{**BAR, "ts_close_utc": datetime(2024, 3, 4, 21, 0)})
    with pytest.raises(ValidationError, match="no timezone"):
        Bar(**{**BAR, "ts_close_utc": "2024-03-04T21:00:00"})


def unit_aware_datetimes_are_normalised_to_utc() -> None:
    new_york = timezone(timedelta(hours=-5))
    bar = Bar(**{**BAR, "ts_close_utc": datetime(2024, 3, 4, 16, 0, tzinfo=new_york)})
    assert bar.ts_close_utc == datetime(2024, 3, 4, 21, 0, tzinfo=UTC)
    assert bar.ts_close_utc.tzinfo is UTC


def unit_models_are_immutable_and_refuse_unknown_fields() -> None:
    bar = Bar(**BAR)
    with pytest.raises(ValidationError):
        bar.close = Decimal(1)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Bar(**{**BAR, "vwap": "100"})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.500"), "1.5"),
        (Decimal("0.000"), "0"),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.0100"), "-0.01"),
        (Decimal("123456789.12345678"), "123456789.12345678"),
    ],
)
def unit_decimals_have_one_canonical_text(value: Decimal, text: str) -> None:
    assert format_decimal(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("-0.00"), "0"),
        (Decimal("0E-8"), "0"),
        (Decimal("-0"), "0"),
        (Decimal("100.00000000"), "100"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("-1.2E+3"), "-1200"),
        (Decimal("1234567890123456789012345.678"), "1234567890123456789012345.678"),
        # 29 significant digits: rounded to the context's 28, as normalize() always did
        (Decimal("1234567890123456789012345.6789"), "1234567890123456789012345.679"),
    ],
)
def unit_decimal_text_edges_match_normalize(value: Decimal, text: str) -> None:
    assert format_decimal(value) == text == _normalized_text(value)


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.builds(
        lambda units, places: Decimal(units).scaleb(-places),
        st.integers(-(10**30), 10**30),
        st.integers(0, 12),
    )
)
def invariant_decimal_text_is_the_normalized_plain_text(value: Decimal) -> None:
    assert format_decimal(value) == _normalized_text(value)


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "Infinity"])
def unit_non_finite_decimals_render_as_before(text: str) -> None:
    assert format_decimal(Decimal(text)) == _normalized_text(Decimal(text)) == text


def fault_a_signalling_nan_decimal_has_no_text() -> None:
    with pytest.raises(InvalidOperation):
        format_decimal(Decimal("sNaN"))


def _normalized_text(value: Decimal) -> str:
    """The reference: normalize() then plain notation, ``0`` for any zero."""
    return "0" if value == 0 else format(value.normalize(), "f")


def unit_bar_json_roundtrip_is_exact() -> None:
    bar = Bar(**BAR)
    assert Bar.model_validate_json(bar.model_dump_json()) == bar
    assert canonical_json(bar) == (
        '{"close":101,"high":101.25,"is_complete":true,"low":99.75,"open":100.5,'
        '"symbol":"AAPL","timeframe":"1d","ts_close_utc":"2024-03-04T21:00:00Z","volume":1200}'
    )


_zones = st.one_of(
    st.just(UTC),
    st.just(timezone(timedelta(0))),
    st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60)),
    st.builds(lambda s: timezone(timedelta(seconds=s)), st.integers(-86399, 86399).filter(bool)),
)


@given(
    moment=st.builds(
        lambda moment, zone: moment.replace(tzinfo=UTC).astimezone(zone),
        st.datetimes(min_value=datetime(2, 1, 2), max_value=datetime(9998, 12, 30)),
        _zones,
    )
)
def invariant_utc_text_is_the_strftime_rendering_in_utc(moment: datetime) -> None:
    # format_utc reads a UTC time off isoformat(); the reference converts and uses strftime
    utc = moment.astimezone(UTC)
    micro = f".{utc.microsecond:06d}" if utc.microsecond else ""
    assert format_utc(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S") + micro + "Z"
