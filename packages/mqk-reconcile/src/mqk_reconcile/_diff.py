"""Diffs: one disagreement between the broker and the internal state, with its severity."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mqk_reconcile._base import Frozen

__all__ = ["DiffKind", "ReconcileDiff", "Severity"]


class Severity(StrEnum):
    """How bad one diff is: INFO (note it), WARN (halt new orders), CRITICAL (disarm)."""

    INFO = "INFO"
    WARN = "WARN"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """0 for INFO, 1 for WARN, 2 for CRITICAL."""
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.CRITICAL: 2}


class DiffKind(StrEnum):
    """What disagrees. Declaration order is the sort order among diffs of equal severity."""

    UNKNOWN_BROKER_ORDER = "UNKNOWN_BROKER_ORDER"
    """The broker holds an order in the engine's namespace that the OMS does not know."""
    MISSING_INTERNAL_ORDER = "MISSING_INTERNAL_ORDER"
    """The OMS believes an order is open at the broker; the broker does not have it."""
    ORDER_FIELD_DRIFT = "ORDER_FIELD_DRIFT"
    """Both know the order but one field (quantity, filled_quantity, status, side, symbol)
    differs."""
    FILL_NOT_APPLIED = "FILL_NOT_APPLIED"
    """The broker reports a fill the ledger has not applied."""
    FILL_MISSING_AT_BROKER = "FILL_MISSING_AT_BROKER"
    """The ledger applied a fill the broker does not report."""
    FILL_FIELD_DRIFT = "FILL_FIELD_DRIFT"
    """Both know the fill (same broker_fill_id) but one field differs."""
    POSITION_MISMATCH = "POSITION_MISMATCH"
    """The broker's position in a symbol differs from the ledger's."""
    MISSING_PROTECTIVE_STOP = "MISSING_PROTECTIVE_STOP"
    """An open broker position is not fully covered by resting protective stops."""

    @property
    def order(self) -> int:
        """Position of this kind in the declaration (sort key)."""
        return _KIND_ORDER[self]


_KIND_ORDER = {kind: index for index, kind in enumerate(DiffKind)}


class ReconcileDiff(Frozen):
    """One disagreement, with both sides' values rendered canonically as text.

    ``ref`` is the client_order_id (order diffs) or broker_fill_id (fill diffs); ``field`` names
    the drifting field (drift, position and stop diffs). ``broker`` and ``internal`` hold the two
    values (``None`` when that side has nothing); for MISSING_PROTECTIVE_STOP ``broker`` is the
    quantity covered by resting stops and ``internal`` the quantity that needs cover.
    """

    kind: DiffKind
    severity: Severity
    symbol: str | None = None
    ref: str | None = None
    field: str | None = None
    broker: str | None = None
    internal: str | None = None
    message: str

    def sort_key(self) -> tuple[int, int, str, str, str, str, str, str]:
        """Most severe first, then kind (declaration order), symbol, ref, field, then values."""
        return (
            -self.severity.rank,
            self.kind.order,
            self.symbol or "",
            self.ref or "",
            self.field or "",
            self.broker or "",
            self.internal or "",
            self.message,
        )

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able dict of this diff."""
        return {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "symbol": self.symbol,
            "ref": self.ref,
            "field": self.field,
            "broker": self.broker,
            "internal": self.internal,
            "message": self.message,
        }
