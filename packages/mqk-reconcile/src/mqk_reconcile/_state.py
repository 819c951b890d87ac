"""What the engine believes (InternalState) and how strict reconciliation is (ReconcileConfig)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from mqk_reconcile._base import Frozen
from mqk_reconcile._diff import Severity
from mqk_schemas import ExactDecimal, Fill, Order, OrderType, Symbol, UtcDatetime

__all__ = ["InternalState", "ReconcileConfig"]


class InternalState(Frozen):
    """The engine's own view, assembled by the caller from its ledger and OMS.

    - ``positions``: signed quantity per symbol for the whole broker account the snapshot comes
      from (a missing symbol means zero).
    - ``orders``: every order the OMS knows (open and closed) for this engine.
    - ``fills``: the fills the ledger has applied.
    - ``protective_stop_ids``: client_order_ids (among ``orders``, all STOP orders) that protect a
      position.
    - ``fills_since``: the start of the fill window the broker reports. Fills (on either side)
      stamped before it are not compared; ``None`` means the broker reports every fill.
    """

    positions: dict[Symbol, ExactDecimal] = Field(default_factory=dict)
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    protective_stop_ids: frozenset[str] = frozenset()
    fills_since: UtcDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InternalState:
        _refuse_duplicates("orders", [o.client_order_id for o in self.orders])
        _refuse_duplicates("fills", [f.broker_fill_id for f in self.fills])
        by_id = {o.client_order_id: o for o in self.orders}
        for coid in sorted(self.protective_stop_ids):
            order = by_id.get(coid)
            if order is None:
                raise ValueError(f"protective stop {coid!r} is not one of the internal orders")
            if order.order_type is not OrderType.STOP:
                raise ValueError(f"protective stop {coid!r} is a {order.order_type} order")
        return self

    def position(self, symbol: str) -> Decimal:
        """Signed internal quantity in ``symbol`` (zero when absent)."""
        return self.positions.get(symbol, Decimal(0))

    def in_fill_window(self, ts_utc: datetime) -> bool:
        """True when a fill stamped ``ts_utc`` must be reported by the broker."""
        return self.fills_since is None or ts_utc >= self.fills_since


def _refuse_duplicates(what: str, ids: list[str]) -> None:
    twice = sorted(i for i, n in Counter(ids).items() if n > 1)
    if twice:
        raise ValueError(f"{what} hold duplicate ids: {', '.join(twice)}")


class ReconcileConfig(Frozen):
    """Knobs of the diff engine.

    ``require_protective_stop`` mirrors ``risk.require_protective_stop``: when true, every open
    broker position must be covered by resting protective stops, else a MISSING_PROTECTIVE_STOP
    diff of ``missing_stop_severity`` (WARN or CRITICAL) is raised.
    """

    require_protective_stop: bool = True
    missing_stop_severity: Severity = Severity.WARN

    @field_validator("missing_stop_severity")
    @classmethod
    def _warn_or_critical(cls, value: Severity) -> Severity:
        if value is Severity.INFO:
            raise ValueError("a missing protective stop is WARN or CRITICAL, never INFO")
        return value
