"""Typed strategy parameters: strict pydantic models, unknown names refused.

Field types shared by the builtins keep every parameter exactly representable in the
fixed-point arithmetic that decides trades.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mqk_schemas import PRICE_SCALE, NonNegativeDecimal, PositiveDecimal
from mqk_strategy._fixed import MAX_FIXED_QUANTITY, MAX_LOOKBACK, scaled_units

__all__ = ["Quantity", "StrategyParams", "Threshold", "WindowLength", "decimal_ratio"]

_THRESHOLD_MAX = Decimal(100)
_THRESHOLD_PLACES = 4


def _quantity(value: Decimal) -> Decimal:
    units = scaled_units(value, PRICE_SCALE)
    if units is None:
        raise ValueError(f"{value} has more than {PRICE_SCALE} decimal places")
    if units > MAX_FIXED_QUANTITY:
        raise ValueError(f"{value} exceeds the largest target quantity 10000000000")
    return value


def _threshold(value: Decimal) -> Decimal:
    if value > _THRESHOLD_MAX:
        raise ValueError(f"{value} exceeds {_THRESHOLD_MAX}")
    if scaled_units(value, _THRESHOLD_PLACES) is None:
        raise ValueError(f"{value} has more than {_THRESHOLD_PLACES} decimal places")
    return value


Quantity = Annotated[PositiveDecimal, AfterValidator(_quantity)]
"""A positive quantity with at most 8 decimal places and at most 1e10 (floats refused)."""

Threshold = Annotated[NonNegativeDecimal, AfterValidator(_threshold)]
"""A non-negative multiplier up to 100 with at most 4 decimal places (floats refused)."""

WindowLength = Annotated[int, Field(ge=1, le=MAX_LOOKBACK)]
"""A number of bars, 1 to MAX_LOOKBACK."""


class StrategyParams(BaseModel):
    """Base of every parameter model: frozen, strict types, unknown parameters refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def decimal_ratio(value: Decimal) -> tuple[int, int]:
    """``value`` as an exact reduced fraction ``(numerator, denominator)``."""
    return value.as_integer_ratio()
