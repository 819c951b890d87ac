"""Decimal contexts: exact arithmetic for money, bounded precision for derived ratios."""

from __future__ import annotations

from decimal import (
    Clamped,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
)
from typing import Any

from mqk_portfolio.errors import LedgerInputError
from mqk_schemas import ExactnessError, to_decimal

__all__ = ["EXACT_PRECISION", "exact_context", "ratio_context", "require_decimal"]

EXACT_PRECISION = 120
"""Significant digits available to ledger arithmetic; any rounding raises instead."""


def exact_context() -> Context:
    """A context in which every rounding, overflow or invalid operation raises."""
    return Context(
        prec=EXACT_PRECISION,
        Emax=999_999,
        Emin=-999_999,
        traps=[
            Clamped,
            DivisionByZero,
            Inexact,
            InvalidOperation,
            Overflow,
            Rounded,
            Underflow,
        ],
    )


def ratio_context() -> Context:
    """The context for derived ratios (average price, drawdown fraction, leverage): 28 digits."""
    return Context(prec=28, traps=[DivisionByZero, InvalidOperation, Overflow])


def require_decimal(value: Any, field: str) -> Decimal:
    """``value`` as an exact finite Decimal (int/str/Decimal accepted; floats refused)."""
    if type(value) is Decimal and value.is_finite():
        return value
    try:
        return to_decimal(value)
    except ExactnessError as error:
        raise LedgerInputError(f"{field}: {error}") from None
