"""Exceptions raised by :mod:`mqk_schemas`.

::

    SchemaError                 base of every error raised here
    ├── ExactnessError          a float (or NaN/inf) where exact money or quantity is required
    ├── NaiveDatetimeError      a timestamp without a timezone
    ├── BarFrameSchemaError     a columnar bar frame without the fixed schema
    └── AuditChainError         an audit log that cannot be written or read
"""

from __future__ import annotations

__all__ = [
    "AuditChainError",
    "BarFrameSchemaError",
    "ExactnessError",
    "NaiveDatetimeError",
    "SchemaError",
]


class SchemaError(Exception):
    """Base class of every error raised by mqk_schemas."""

    reason_code: str = "SCHEMA_ERROR"


class ExactnessError(SchemaError, ValueError):
    """A binary float, NaN or infinity was given where an exact decimal is required."""

    reason_code = "INEXACT_NUMBER"


class NaiveDatetimeError(SchemaError, ValueError):
    """A timestamp had no timezone; every timestamp in the system is timezone-aware UTC."""

    reason_code = "NAIVE_DATETIME"


class BarFrameSchemaError(SchemaError, ValueError):
    """A polars frame does not have the fixed columnar bar schema."""

    reason_code = "BAR_FRAME_SCHEMA"


class AuditChainError(SchemaError):
    """An audit log could not be written or parsed."""

    reason_code = "AUDIT_CHAIN"
