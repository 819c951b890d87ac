"""Small adapters between the runtime's parts and the Protocols of other packages."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mqk_integrity import IntegrityGate
from mqk_schemas import Bar, Decision, Fill

__all__ = ["GateView", "MarketDriven"]


@runtime_checkable
class MarketDriven(Protocol):
    """A simulated broker that trades resting orders against each bar (the paper broker)."""

    def on_bar(self, bar: Bar) -> tuple[Fill, ...]:
        """Process ``bar``; returns the fills it caused."""
        ...


class GateView:
    """:class:`~mqk_execution.IntegrityView` over an integrity gate: its sticky status."""

    __slots__ = ("_gate",)

    def __init__(self, gate: IntegrityGate) -> None:
        self._gate = gate

    def integrity_decision(self, symbol: str) -> Decision:
        """The gate's sticky decision (the same for every symbol of the engine)."""
        return self._gate.status()
