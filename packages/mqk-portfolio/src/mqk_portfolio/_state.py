"""Immutable snapshots of a ledger, for comparison, persistence and reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mqk_portfolio._book import Lot

__all__ = ["LedgerState", "PositionState"]


@dataclass(frozen=True, slots=True)
class PositionState:
    """One symbol's fill-derived state: signed quantity, signed cost basis, open lots."""

    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    realised_pnl: Decimal
    fees: Decimal
    lots: tuple[Lot, ...]


@dataclass(frozen=True, slots=True)
class LedgerState:
    """Everything a ledger derives from its fills alone (marks and peak are not included).

    Two ledgers that applied the same fills in the same order have equal states.
    """

    engine_id: str
    starting_cash: Decimal
    cash: Decimal
    realised_pnl: Decimal
    fees: Decimal
    positions: tuple[PositionState, ...]
    fill_ids: tuple[str, ...]
