"""What a run session reports at the end: bars, orders, fills, equity and halts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mqk_schemas import Decision, RunMode, RunStatus

__all__ = ["RunSummary"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The outcome of one session of a run (a resumed run has several sessions).

    ``orders`` and ``fills`` count the whole run (outbox entries, applied fills); ``bars_done``
    is the run's cursor, ``bars_this_session`` what this process handled. ``halts`` lists every
    kill switch tripped in this session, in order; ``halt_reason`` is the one stored on the run.
    """

    run_id: uuid.UUID
    engine_id: str
    mode: RunMode
    shadow: bool
    status: RunStatus
    resumed: bool
    bars_total: int
    bars_done: int
    bars_this_session: int
    orders: int
    fills: int
    shadow_intents: int
    cash: Decimal
    equity: Decimal
    positions: dict[str, Decimal]
    halt_reason: str | None
    halts: tuple[Decision, ...] = field(default_factory=tuple)

    @property
    def halted(self) -> bool:
        """True when a kill switch halted the run."""
        return self.halt_reason is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able view (exact decimals kept as Decimal for canonical JSON)."""
        return {
            "run_id": self.run_id,
            "engine_id": self.engine_id,
            "mode": self.mode,
            "shadow": self.shadow,
            "status": self.status,
            "resumed": self.resumed,
            "bars_total": self.bars_total,
            "bars_done": self.bars_done,
            "bars_this_session": self.bars_this_session,
            "orders": self.orders,
            "fills": self.fills,
            "shadow_intents": self.shadow_intents,
            "cash": self.cash,
            "final_equity": self.equity,
            "positions": dict(self.positions),
            "halt_reason": self.halt_reason,
            "halts": [
                {"reason_code": d.reason_code, "action": d.action, "message": d.message}
                for d in self.halts
            ],
        }
