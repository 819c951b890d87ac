"""Thin adapters from the real risk engine and allocation guard to the gateway's Protocols."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from mqk_execution._protocols import PreTradeContext
from mqk_isolation import AllocationGuard, ExposureView
from mqk_risk import PortfolioView, RiskEngine
from mqk_schemas import Decision, OrderIntent

__all__ = ["AllocationGuardCheck", "RiskEngineCheck"]


class RiskEngineCheck:
    """:class:`~mqk_execution.RiskCheck` over a :class:`mqk_risk.RiskEngine`.

    ``portfolio`` is the engine's ledger view (equity, gross exposure, positions). The gateway's
    reference price values MARKET orders and its pending same-side quantity is passed through,
    so the risk engine and the gateway agree on what is risk-reducing.
    """

    __slots__ = ("_engine", "_portfolio")

    def __init__(self, engine: RiskEngine, portfolio: PortfolioView) -> None:
        self._engine = engine
        self._portfolio = portfolio

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        """The risk engine's pre-trade decision for ``intent``."""
        # RiskEngine.check with the RiskContext's fields passed as they are
        return self._engine.check_order(
            intent,
            context.ts_utc,
            self._portfolio,
            context.reference_price,
            context.pending_same_side,
            context.session,
        )


class AllocationGuardCheck:
    """:class:`~mqk_execution.AllocationCheck` over a :class:`mqk_isolation.AllocationGuard`.

    ``exposure`` is the engine's own ledger view; ``account_equity`` returns the account's
    current equity (the cap is a share of it).
    """

    __slots__ = ("_account_equity", "_exposure", "_guard")

    def __init__(
        self,
        guard: AllocationGuard,
        exposure: ExposureView,
        account_equity: Callable[[], Decimal],
    ) -> None:
        self._guard = guard
        self._exposure = exposure
        self._account_equity = account_equity

    def check(self, intent: OrderIntent, context: PreTradeContext) -> Decision:
        """ALLOW, or REJECT ``ENGINE_CAP_EXCEEDED`` from the guard."""
        return self._guard.check_allocation(
            intent,
            exposure=self._exposure,
            account_equity=self._account_equity(),
            reference_price=context.reference_price,
            pending_same_side=context.pending_same_side,
        )
