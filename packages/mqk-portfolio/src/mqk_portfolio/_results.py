"""What applying a fill reports back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from mqk_schemas import Decision, Fill

__all__ = ["FillResult", "FillStatus"]


class FillStatus(StrEnum):
    """Whether a fill changed the ledger."""

    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"


@dataclass(frozen=True, slots=True)
class FillResult:
    """The outcome of :meth:`EngineLedger.apply`.

    ``realised_pnl`` is what this fill realised (gross of its fee; 0 for a duplicate);
    ``position`` is the symbol's signed quantity afterwards. A duplicate carries a
    ``FILL_DUPLICATE`` decision with the evidence.
    """

    status: FillStatus
    fill: Fill
    realised_pnl: Decimal
    position: Decimal
    decision: Decision | None = None

    @property
    def applied(self) -> bool:
        """True when the fill changed the ledger."""
        return self.status is FillStatus.APPLIED
