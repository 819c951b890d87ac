"""The strategy plugin interfaces: bar-by-bar (required) and vectorised (optional)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mqk_strategy._arrays import BarArrays, TargetSeries
from mqk_strategy._output import StrategyOutput
from mqk_strategy._window import BarView, BarWindow

__all__ = ["Strategy", "VectorisedStrategy"]


@runtime_checkable
class Strategy(Protocol):
    """A strategy: one complete bar in, target positions out; never orders.

    It sees only the bar and a read-only window of that symbol's recent bars (the bar itself
    last, at most ``lookback`` bars). It has no DB, broker, clock or later data; the only state
    it keeps is its own. ``None`` means "no opinion yet" (warm-up).
    """

    @property
    def lookback(self) -> int:
        """Bars of history (including the current bar) the window must hold."""
        ...

    def on_bar(self, bar: BarView, window: BarWindow) -> StrategyOutput | None:
        """Handle one complete bar and return targets, or None during warm-up."""
        ...


@runtime_checkable
class VectorisedStrategy(Strategy, Protocol):
    """A strategy that can also compute all its per-bar targets over whole arrays at once.

    ``targets_vectorised(bars)`` must equal calling :meth:`on_bar` bar by bar on a fresh instance
    (``active[i]`` False exactly where ``on_bar`` returns None), and output ``i`` may depend
    only on bars ``0..i``. It does not touch the instance's bar-by-bar state.
    """

    def targets_vectorised(self, bars: BarArrays) -> TargetSeries:
        """Targets for every bar of one symbol."""
        ...
