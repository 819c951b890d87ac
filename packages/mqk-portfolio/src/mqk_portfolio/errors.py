"""Exceptions raised by :mod:`mqk_portfolio`.

A duplicate fill (same ``broker_fill_id``, same content) is not an error: it is ignored and
reported in the :class:`~mqk_portfolio.FillResult`. Everything below is refused input, and a
refused input changes nothing.

::

    PortfolioError              base of every error raised here
    ├── FillConflictError       a different fill reusing an already applied broker_fill_id
    ├── ForeignFillError        a fill of another engine handed to this engine's ledger
    ├── LedgerInputError        a value that is not an exact, valid number / fill
    │   └── InvalidMarkError    a mark price that is not a finite Decimal > 0
    └── LedgerPrecisionError    an operation that would have rounded (never expected)
"""

from __future__ import annotations

__all__ = [
    "FillConflictError",
    "ForeignFillError",
    "InvalidMarkError",
    "LedgerInputError",
    "LedgerPrecisionError",
    "PortfolioError",
]


class PortfolioError(Exception):
    """Base class of every error raised by mqk_portfolio."""

    reason_code: str = "PORTFOLIO_ERROR"


class FillConflictError(PortfolioError, ValueError):
    """A fill reuses the ``broker_fill_id`` of an applied fill but differs from it."""

    reason_code = "FILL_ID_CONFLICT"


class ForeignFillError(PortfolioError, ValueError):
    """A fill belongs to another engine; one engine's ledger never applies another's fills."""

    reason_code = "FILL_FOREIGN_ENGINE"


class LedgerInputError(PortfolioError, ValueError):
    """An input is not an exact number or not a valid object of the expected type."""

    reason_code = "LEDGER_INPUT_INVALID"


class InvalidMarkError(LedgerInputError):
    """A mark price is not a finite Decimal greater than zero."""

    reason_code = "MARK_INVALID"


class LedgerPrecisionError(PortfolioError, ArithmeticError):
    """An arithmetic step would have rounded; the ledger refuses instead of losing a cent."""

    reason_code = "LEDGER_INEXACT"
