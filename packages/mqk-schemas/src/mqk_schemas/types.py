"""Exact numeric and time primitives shared by every model.

Money, prices and quantities are :class:`decimal.Decimal`. A binary ``float`` is refused
(it cannot represent most prices exactly); ``int``, ``str`` and ``Decimal`` are accepted.
Timestamps must be timezone-aware and are normalised to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from mqk_schemas.errors import ExactnessError, NaiveDatetimeError

__all__ = [
    "ExactDecimal",
    "NonNegativeDecimal",
    "PositiveDecimal",
    "UtcDatetime",
    "format_decimal",
    "format_utc",
    "to_decimal",
    "to_utc",
]


def to_decimal(value: Any) -> Decimal:
    """Convert ``value`` to an exact, finite Decimal; floats and bools are refused."""
    if isinstance(value, bool | float):
        raise ExactnessError(
            f"{value!r} is a binary float; pass money, prices and quantities as Decimal, int or str"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ExactnessError(f"{value!r} is not a decimal number") from None
    else:
        raise ExactnessError(f"{type(value).__name__} {value!r} is not an exact decimal number")
    if not result.is_finite():
        raise ExactnessError(f"{value!r} is not a finite number")
    return result


def format_decimal(value: Decimal) -> str:
    """Render a Decimal canonically: no exponent, no trailing zeros, ``0`` for zero."""
    text = str(value)
    # the common case, read off ``str`` (a hot path: every price and quantity an event
    # records): plain notation and too few digits for ``normalize`` to round
    if len(text) <= _PLAIN_DIGITS and "E" not in text and value.is_finite():
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


_PLAIN_DIGITS: Final = 28
"""At most this many characters, a Decimal's text holds at most the default context's 28
digits, which :meth:`~decimal.Decimal.normalize` keeps unrounded."""


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(f"timestamp {value.isoformat()} has no timezone; use UTC")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """Render a UTC timestamp as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    iso = value.isoformat()
    if iso.endswith("+00:00") and value.year >= 1000:  # already UTC (a hot path): read it off
        return iso[:-6] + "Z"
    value = to_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"{format_decimal(value)} must be > 0")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"{format_decimal(value)} must be >= 0")
    return value


_decimal_serializer = PlainSerializer(format_decimal, return_type=str, when_used="json")

ExactDecimal = Annotated[Decimal, BeforeValidator(to_decimal), _decimal_serializer]
"""A finite Decimal; floats refused."""

PositiveDecimal = Annotated[
    Decimal, BeforeValidator(to_decimal), AfterValidator(_positive), _decimal_serializer
]
"""A finite Decimal > 0; floats refused."""

NonNegativeDecimal = Annotated[
    Decimal, BeforeValidator(to_decimal), AfterValidator(_non_negative), _decimal_serializer
]
"""A finite Decimal >= 0; floats refused."""


def _parse_utc(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    if isinstance(value, datetime):
        return to_utc(value)
    return value


UtcDatetime = Annotated[
    datetime,
    BeforeValidator(_parse_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
"""A timezone-aware datetime normalised to UTC; naive datetimes refused."""
