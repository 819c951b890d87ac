"""Helpers shared by the builtin strategies."""

from __future__ import annotations

from decimal import Decimal

from mqk_schemas import TargetPosition
from mqk_strategy._output import StrategyOutput

__all__ = ["OutputCache"]


class OutputCache:
    """Reuses one immutable StrategyOutput per (symbol, quantity): no per-bar validation."""

    __slots__ = ("_outputs",)

    def __init__(self) -> None:
        self._outputs: dict[tuple[str, Decimal], StrategyOutput] = {}

    def get(self, symbol: str, quantity: Decimal) -> StrategyOutput:
        """The output holding ``quantity`` of ``symbol`` and no stop."""
        key = (symbol, quantity)
        output = self._outputs.get(key)
        if output is None:
            output = StrategyOutput(targets=(TargetPosition(symbol=symbol, quantity=quantity),))
            self._outputs[key] = output
        return output
