"""mqk_portfolio: fill-driven FIFO ledger, equity and exposure.

One :class:`EngineLedger` per engine applies that engine's :class:`mqk_schemas.Fill` s (FIFO
lots, long and short, flips through zero), deduplicated by ``broker_fill_id``, with exact
Decimal money: cash (fees included), realised/unrealised PnL, equity = cash + marked
positions, peak equity and drawdown, gross/net exposure and leverage. Marks are handed in
(``mark`` / ``mark_all``) and cost O(1) per symbol. Other packages read it through
:class:`PortfolioView` (pass :class:`LedgerView` ``(ledger)`` to hand out a read-only object)::

    ledger = EngineLedger("MAIN", Decimal("100000"))
    result = ledger.apply(fill)            # FillResult: APPLIED or DUPLICATE (+ decision)
    ledger.mark_all({"AAPL": Decimal("187.20")})
    ledger.equity, ledger.drawdown, ledger.gross_exposure, ledger.position("AAPL")
    EngineLedger.replay("MAIN", Decimal("100000"), ledger.fills).snapshot() == ledger.snapshot()
"""

from mqk_portfolio._book import Lot
from mqk_portfolio._exact import EXACT_PRECISION
from mqk_portfolio._ledger import EngineLedger
from mqk_portfolio._ledger_view import LedgerView
from mqk_portfolio._results import FillResult, FillStatus
from mqk_portfolio._state import LedgerState, PositionState
from mqk_portfolio._view import PortfolioView
from mqk_portfolio.errors import (
    FillConflictError,
    ForeignFillError,
    InvalidMarkError,
    LedgerInputError,
    LedgerPrecisionError,
    PortfolioError,
)

__version__ = "0.1.0"

__all__ = [
    "EXACT_PRECISION",
    "EngineLedger",
    "FillConflictError",
    "FillResult",
    "FillStatus",
    "ForeignFillError",
    "InvalidMarkError",
    "LedgerInputError",
    "LedgerPrecisionError",
    "LedgerState",
    "LedgerView",
    "Lot",
    "PortfolioError",
    "PortfolioView",
    "PositionState",
    "__version__",
]
