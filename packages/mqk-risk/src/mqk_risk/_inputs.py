"""Checks on the inputs of public calls: exact numbers, UTC timestamps, engine tokens."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from mqk_risk.errors import RiskInputError
from mqk_schemas import ENGINE_ID_PATTERN, SchemaError, to_decimal

__all__ = ["exact", "require_engine_id", "require_utc", "timedelta_seconds"]

_ENGINE_RE = re.compile(ENGINE_ID_PATTERN)


def exact(value: Any, name: str) -> Decimal:
    """``value`` as an exact Decimal; floats, NaN and infinities raise :class:`RiskInputError`."""
    if value.__class__ is Decimal and value.is_finite():
        return value
    try:
        return to_decimal(value)
    except SchemaError as exc:
        raise RiskInputError(f"{name}: {exc}") from None


def require_utc(value: datetime, name: str) -> datetime:
    """Refuse naive timestamps; return ``value`` unchanged."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise RiskInputError(f"{name}: {value!r} is not a timezone-aware datetime; use UTC")
    return value


def require_engine_id(engine_id: str) -> str:
    """Refuse anything but an upper-case engine token such as ``MAIN``."""
    if not isinstance(engine_id, str) or not _ENGINE_RE.match(engine_id):
        raise RiskInputError(f"engine_id {engine_id!r} is not an upper-case engine token")
    return engine_id


def timedelta_seconds(days: int, seconds: int, microseconds: int) -> Decimal:
    """A duration given as timedelta parts, in exact decimal seconds."""
    total = (days * 86_400 + seconds) * 1_000_000 + microseconds
    return Decimal(total).scaleb(-6)
