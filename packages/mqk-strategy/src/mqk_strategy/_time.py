"""Exact conversions between UTC datetimes and integer microseconds since the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["us_to_utc", "utc_to_us"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def utc_to_us(ts: datetime) -> int:
    """Microseconds since 1970-01-01T00:00Z of the aware datetime ``ts`` (exact)."""
    return (ts - _EPOCH) // _ONE_US


def us_to_utc(us: int) -> datetime:
    """The UTC datetime ``us`` microseconds after the epoch (exact)."""
    return _EPOCH + timedelta(microseconds=int(us))
